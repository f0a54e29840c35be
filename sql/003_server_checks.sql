-- Server fields end up in SSH connections, known_hosts lookups and remote
-- paths, so values that could be read as options or shell syntax are
-- rejected when a frontend writes them.  The worker checks them again
-- before it connects.

ALTER TABLE provision.servers
    ADD CONSTRAINT servers_name_valid
        CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
    ADD CONSTRAINT servers_hostname_valid
        CHECK (hostname ~ '^[A-Za-z0-9_.:\[\]][A-Za-z0-9_.:\[\]-]{0,252}$'),
    ADD CONSTRAINT servers_ssh_user_valid
        CHECK (ssh_user ~ '^[a-z_][a-z0-9_-]{0,31}$'),
    ADD CONSTRAINT servers_base_dir_valid
        CHECK (base_dir ~ '^/' AND base_dir !~ '(^|/)\.\.(/|$)' AND base_dir !~ '[[:cntrl:]]'
               AND length(base_dir) <= 1024);
