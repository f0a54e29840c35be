/*
 * Skips GnuTLS's initialisation at load time.  The daemon never calls
 * GnuTLS: Debian's libpq links libldap (for LDAP lookups of connection
 * services), and libldap links GnuTLS.  Since GnuTLS 3.3 a constructor
 * initialises the library when it is loaded, which cost the daemon about
 * 0.9 MB of resident memory with GnuTLS 3.7.9 on Debian 12.  The
 * constructor first calls _gnutls_global_init_skip() and stops when it
 * returns 1.  This definition interposes on the library's weak one and is
 * what the GNUTLS_SKIP_GLOBAL_INIT macro of <gnutls/gnutls.h> expands to.
 * libldap calls gnutls_global_init() before it starts TLS, so LDAP over
 * TLS still works.  The symbol is exported with --export-dynamic-symbol
 * (daemon/CMakeLists.txt) because the daemon does not link GnuTLS itself.
 */
int _gnutls_global_init_skip(void);

int _gnutls_global_init_skip(void)
{
	return 1;
}
