/*
 * tlsfiles.c - read the etcd client's TLS files as OpenSSL will, and say
 * plainly what is wrong with them.
 */
#include "tlsfiles.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "log.h"

struct tf {
	enum tlsfiles_state state;
	char *why;
	size_t len;
};

/* Record a problem; the first of the worst kind is kept. */
static void LOG_PRINTF(3, 4) problem(struct tf *t, enum tlsfiles_state st, const char *fmt, ...)
{
	va_list ap;

	if (st <= t->state)
		return;
	t->state = st;
	va_start(ap, fmt);
	vsnprintf(t->why, t->len, fmt, ap);
	va_end(ap);
}

/* OpenSSL's reason for the last failure, or a plain default. */
static const char *ssl_reason(const char *dflt)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : dflt;
}

/* Open path for reading; on failure record MISSING or BAD and return NULL. */
static FILE *open_file(struct tf *t, const char *key, const char *path)
{
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		int e = errno;

		if (e == ENOENT)
			problem(t, TLSFILES_MISSING, "vipd.etcd.%s %s: no such file",
			    key, path);
		else
			problem(t, TLSFILES_BAD, "vipd.etcd.%s %s: cannot be read: %s", key, path,
			    strerror(e));
	}
	return f;
}

/* Never ask for a passphrase: libcurl is given none either. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static void check_ca(struct tf *t, const char *path)
{
	FILE *f = open_file(t, "caFile", path);
	unsigned n = 0;
	X509 *x;

	if (f == NULL)
		return;
	while ((x = PEM_read_X509(f, NULL, no_passphrase, NULL)) != NULL) {
		n++;
		X509_free(x);
	}
	fclose(f);
	if (n == 0)
		problem(t, TLSFILES_BAD, "vipd.etcd.caFile %s: no PEM certificate in it (%s)", path,
		    ssl_reason("not PEM"));
}

static X509 *read_cert(struct tf *t, const char *path)
{
	FILE *f = open_file(t, "certFile", path);
	X509 *x;

	if (f == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (x == NULL)
		problem(t, TLSFILES_BAD, "vipd.etcd.certFile %s: not a PEM certificate (%s)", path,
		    ssl_reason("not PEM"));
	return x;
}

static EVP_PKEY *read_key(struct tf *t, const char *path)
{
	FILE *f = open_file(t, "keyFile", path);
	EVP_PKEY *k;

	if (f == NULL)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (k == NULL)
		problem(t, TLSFILES_BAD, "vipd.etcd.keyFile %s: not a PEM private key, or one that "
		    "needs a passphrase (%s)", path, ssl_reason("not PEM"));
	return k;
}

/* Seconds since the epoch of an ASN1_TIME, via its distance from now. */
static int64_t asn1_epoch(const ASN1_TIME *at, int64_t now_s)
{
	ASN1_TIME *ref = ASN1_TIME_set(NULL, (time_t)now_s);
	int days = 0, secs = 0;
	int64_t r = 0;

	if (ref != NULL && ASN1_TIME_diff(&days, &secs, ref, at) == 1)
		r = now_s + (int64_t)days * 86400 + secs;
	ASN1_TIME_free(ref);
	return r;
}

static void check_validity(struct tf *t, const char *path, X509 *x, int64_t now_s, int64_t *exp)
{
	int64_t nb = asn1_epoch(X509_get0_notBefore(x), now_s);
	int64_t na = asn1_epoch(X509_get0_notAfter(x), now_s);

	if (exp != NULL)
		*exp = na;
	if (na != 0 && now_s > na)
		problem(t, TLSFILES_BAD, "vipd.etcd.certFile %s: the certificate expired %lld s ago",
		    path, (long long)(now_s - na));
	else if (nb != 0 && now_s < nb)
		problem(t, TLSFILES_BAD, "vipd.etcd.certFile %s: the certificate is not valid for "
		    "another %lld s (check the clock)", path, (long long)(nb - now_s));
}

enum tlsfiles_state tlsfiles_check(const char *ca_file, const char *cert_file,
    const char *key_file, int64_t now_s, int64_t *expires_s, char *why, size_t len)
{
	struct tf t = { .state = TLSFILES_OK, .why = why, .len = len };
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;

	if (len > 0)
		why[0] = '\0';
	if (expires_s != NULL)
		*expires_s = 0;
	ERR_clear_error();
	if (ca_file != NULL)
		check_ca(&t, ca_file);
	if (cert_file != NULL) {
		cert = read_cert(&t, cert_file);
		if (cert != NULL)
			check_validity(&t, cert_file, cert, now_s, expires_s);
	}
	if (key_file != NULL)
		key = read_key(&t, key_file);
	if (cert != NULL && key != NULL && X509_check_private_key(cert, key) != 1)
		problem(&t, TLSFILES_BAD, "vipd.etcd.keyFile %s: the private key does not belong to "
		    "the certificate in vipd.etcd.certFile %s", key_file, cert_file);
	X509_free(cert);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return t.state;
}
