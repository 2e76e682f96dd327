/*
 * tlsfiles.h - check the etcd client's TLS files before they are used.
 *
 * libcurl reads caFile, certFile and keyFile only when it connects, and a
 * mistake there (a file that is not PEM, a key that does not belong to
 * the certificate, an expired certificate) surfaces as one terse library
 * line per attempt. These checks read the files the same way OpenSSL
 * (libcurl's TLS back end on Debian) will, and say what is wrong in the
 * terms of the configuration: which key, which file, what about it.
 */
#ifndef VIPD_TLSFILES_H
#define VIPD_TLSFILES_H

#include <stddef.h>
#include <stdint.h>

/* What a check found; the worst problem wins. */
enum tlsfiles_state {
	TLSFILES_OK = 0,
	TLSFILES_MISSING,   /* a file does not exist (yet): with kubeadm the
			       certificates appear after vipd starts */
	TLSFILES_BAD,       /* a file exists but is unusable: unreadable,
			       not PEM, key and certificate apart, expired */
};

/*
 * Check the three files (each may be NULL: not configured):
 *   ca_file    readable, at least one PEM certificate;
 *   cert_file  readable, a PEM certificate, valid now (notBefore <= now
 *              <= notAfter, by the system clock), and, with key_file,
 *              matching it (X509_check_private_key);
 *   key_file   readable, a PEM private key that needs no passphrase
 *              (libcurl is given none, so an encrypted key cannot work).
 * now_s is the wall-clock time in seconds since the epoch used for the
 * validity check (time(NULL); a parameter so tests can move it).
 * expires_s, if not NULL, receives the certificate's notAfter as seconds
 * since the epoch (0 without a certificate or on failure).
 * On any problem, writes one line into why (size len, always
 * NUL-terminated) naming the configuration key (vipd.etcd.certFile, ...),
 * the path and the reason, e.g.
 *   "vipd.etcd.keyFile /etc/k.pem: the private key does not belong to the
 *    certificate in vipd.etcd.certFile /etc/c.pem".
 * Reads only; never prompts for a passphrase. Returns the state.
 */
enum tlsfiles_state tlsfiles_check(const char *ca_file, const char *cert_file,
    const char *key_file, int64_t now_s, int64_t *expires_s, char *why, size_t len);

#endif
