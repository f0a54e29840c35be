/*
 * The schema migrations from sql/, compiled into every program.  They are
 * sorted by version; the schema is current when provision.schema_migrations
 * holds the last version.
 */
#ifndef PROVISION_MIGRATIONS_H
#define PROVISION_MIGRATIONS_H

struct migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct migration migrations[];
extern const int migrations_count;

#endif
