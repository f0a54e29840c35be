#!/usr/bin/perl
# Reads a provisiond spill file (daemon/spill.c) and writes its log rows and
# final statuses as tab-separated lines, so a test can compare them with the
# database.  Prints the number of records (batches).
#
# Usage: spill_dump.pl SPILL_FILE LOG_ROWS_OUT STATUSES_OUT
# LOG_ROWS_OUT lines: position in the file, task id, Unix time, level, message.
# STATUSES_OUT lines: task id, status, Unix end time.
use strict;
use warnings;

my ($path, $logs_path, $statuses_path) = @ARGV;
die "usage: $0 SPILL_FILE LOG_ROWS_OUT STATUSES_OUT\n" unless defined $statuses_path;

my $RECORD_MAGIC = 0x50565350;
my $COLUMNS = 11;

# Splits the text of a PostgreSQL array without braces into its elements.
sub elements {
	my ($text) = @_;
	my @out;

	while ($text =~ /\G(?:"((?:[^"\\]|\\.)*)"|(NULL)),?/gs) {
		my $value = $1;

		$value =~ s/\\(.)/$1/gs if defined $value;
		push @out, $value;
	}
	return @out;
}

open my $in, '<:raw', $path or die "cannot open $path: $!\n";
my $data = do { local $/; <$in> };
close $in;
open my $logs, '>', $logs_path or die "cannot write $logs_path: $!\n";
open my $statuses, '>', $statuses_path or die "cannot write $statuses_path: $!\n";

my ($pos, $records, $row) = (0, 0, 0);
while ($pos < length $data) {
	my $magic = unpack 'V', substr($data, $pos, 4);
	my @columns;

	die "$path: no record start at offset $pos\n" unless $magic == $RECORD_MAGIC;
	$pos += 4;
	for (1 .. $COLUMNS) {
		my ($count, $len) = unpack 'V Q<', substr($data, $pos, 12);
		my @values;

		$pos += 12;
		@values = elements(substr($data, $pos, $len));
		die "$path: $count elements expected at offset $pos, found " . @values . "\n"
			unless @values == $count;
		$pos += $len;
		push @columns, \@values;
	}
	$records++;
	for my $i (0 .. $#{ $columns[0] }) {
		print $logs join("\t", ++$row, map { $columns[$_][$i] } 0 .. 3), "\n";
	}
	for my $i (0 .. $#{ $columns[4] }) {
		print $statuses join("\t", $columns[4][$i], $columns[5][$i], $columns[8][$i]), "\n";
	}
}
print "$records\n";
