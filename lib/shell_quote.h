/*
 * POSIX shell quoting for remote command lines.
 *
 * sshd hands the command string of an exec request to the user's login
 * shell as "$SHELL -c STRING", so every value that ends up in that string
 * (a path, a site name, anything from configuration or the database) must
 * pass through shell_quote, or a value such as "$(reboot)" would run.
 *
 * A word made only of letters, digits and "_ . / : @ + , -" is returned
 * unchanged for readable logs.  Every other word, including the empty one,
 * is put in single quotes, and each single quote inside becomes '\'' (end
 * the quoted part, an escaped quote, start a new quoted part).  Inside
 * single quotes a POSIX shell gives no character a special meaning, newline
 * included.
 *
 * Quoting stops the shell from reading a value as code; it cannot stop the
 * program from reading a value that starts with "-" as an option.  Put "--"
 * before paths, as in shell_join((const char *[]){ "rm", "--", path, NULL }).
 */
#ifndef PROVISION_SHELL_QUOTE_H
#define PROVISION_SHELL_QUOTE_H

/* Returns VALUE as one shell word, newly allocated. */
char *shell_quote(const char *value);

/* Returns the words of the NULL-terminated ARGV quoted and joined with spaces, newly allocated. */
char *shell_join(const char *const argv[]);

#endif
