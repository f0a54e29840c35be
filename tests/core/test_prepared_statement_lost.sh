#!/bin/bash
# The daemon's session loses its prepared statements (DEALLOCATE ALL, as a
# pooler or an operator's function would do).  The daemon must prepare
# them again, or reconnect, and go on claiming.
. "$(dirname "$0")/../lib.sh"

test_setup migrate

write_config d1 "lease_duration = 3" >/dev/null
start_daemon_ready d1
first=$(enqueue noop '{}')
wait_for "SELECT status FROM provision.tasks WHERE id = $first" succeeded 20 "task $first to succeed"

# The lease renewal updates provision.daemons in the daemon's own session
# once a second; this trigger drops every prepared statement there once.
sql "CREATE TABLE public.fired (once boolean)" >/dev/null
sql "CREATE FUNCTION public.dealloc_once() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM public.fired) THEN
		INSERT INTO public.fired VALUES (true);
		EXECUTE 'DEALLOCATE ALL';
	END IF;
	RETURN NULL;
END \$\$" >/dev/null
sql "CREATE TRIGGER dealloc_once AFTER UPDATE ON provision.daemons
	FOR EACH STATEMENT EXECUTE FUNCTION public.dealloc_once()" >/dev/null
wait_for "SELECT count(*) FROM public.fired" 1 10 "the trigger to drop the prepared statements"

second=$(enqueue noop '{}')
wait_for "SELECT status FROM provision.tasks WHERE id = $second" succeeded 20 \
	"task $second to succeed after the prepared statements were dropped"
test_done
