/*
 * The subcommands of provisionctl servers.  cmd_servers.c dispatches to
 * them with argv[0] set to "provisionctl servers SUBCOMMAND" and argv[1]
 * the first argument after the subcommand's name.  Each returns an exit
 * code from ctl.h.
 */
#ifndef PROVISIONCTL_SERVERS_H
#define PROVISIONCTL_SERVERS_H

#include "ctl.h"

int servers_list(struct ctl *ctl, int argc, char **argv);
int servers_add(struct ctl *ctl, int argc, char **argv);
int servers_remove(struct ctl *ctl, int argc, char **argv);

/* In servers_service.c. */
int servers_set_service(struct ctl *ctl, int argc, char **argv);
int servers_remove_service(struct ctl *ctl, int argc, char **argv);

/* In servers_credentials.c. */
int servers_set_db_credentials(struct ctl *ctl, int argc, char **argv);

#endif
