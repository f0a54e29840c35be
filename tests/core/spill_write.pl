#!/usr/bin/perl
# Writes a provisiond spill file (daemon/spill.c) for one task: BATCHES
# batches of ROWS log rows each ("spilled line N", at Unix time
# 1700000000 + N/1000), and in the last batch the final status succeeded.
#
# Usage: spill_write.pl SPILL_FILE TASK_ID BATCHES ROWS
use strict;
use warnings;

my ($path, $task, $batches, $rows) = @ARGV;
die "usage: $0 SPILL_FILE TASK_ID BATCHES ROWS\n" unless defined $rows;

my $RECORD_MAGIC = 0x50565350;

# Packs one column: its element count, its length and the array text without braces.
sub column {
	my @values = @_;
	my $text = join ',', map { defined $_ ? qq("$_") : 'NULL' } @values;

	return pack('V Q<', scalar @values, length $text) . $text;
}

open my $out, '>:raw', $path or die "cannot write $path: $!\n";
my $line = 0;
for my $batch (1 .. $batches) {
	my (@tasks, @times, @levels, @messages);
	my @status = ([], [], [], [], [], [], []);

	for (1 .. $rows) {
		$line++;
		push @tasks, $task;
		push @times, sprintf('%.6f', 1700000000 + $line / 1000);
		push @levels, 'info';
		push @messages, "spilled line $line";
	}
	if ($batch == $batches) {
		@status = ([$task], ['succeeded'], [undef], [undef], [$times[-1]], ['f'], [undef]);
	}
	print $out pack('V', $RECORD_MAGIC), column(@tasks), column(@times), column(@levels),
		column(@messages), map { column(@$_) } @status;
}
close $out or die "cannot write $path: $!\n";
