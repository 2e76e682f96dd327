/*
 * test_tlsfiles.c - tlsfiles.c: the etcd client's TLS files read as
 * OpenSSL reads them. Keys and certificates are made here with OpenSSL
 * (P-256, self-signed, a fixed validity window) so each mistake an
 * operator makes can be written on purpose: a file that is not PEM, a key
 * of another certificate, an encrypted key, a certificate out of its
 * validity, a file that is not there yet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tlsfiles.h"

/* The certificates' validity: notBefore and notAfter, seconds since the epoch. */
#define NOT_BEFORE 1700000000LL
#define NOT_AFTER  (NOT_BEFORE + 30 * 86400LL)
#define NOW        (NOT_BEFORE + 86400LL)

static char dir[] = "/tmp/test_tlsfiles.XXXXXX";
static char *ca, *cert, *key, *other_key, *enc_key, *garbage, *missing;

static char *path(const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

static X509 *new_cert(EVP_PKEY *k)
{
	X509 *x = X509_new();
	X509_NAME *n;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)NOT_BEFORE));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)NOT_AFTER));
	assert_int_equal(X509_set_pubkey(x, k), 1);
	n = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"vipd-test", -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	return x;
}

static void write_cert(const char *p, X509 *x)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	assert_int_equal(fclose(f), 0);
}

static void write_key(const char *p, EVP_PKEY *k, const char *pass)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, pass ? EVP_aes_256_cbc() : NULL,
	    (const unsigned char *)pass, pass ? (int)strlen(pass) : 0, NULL, NULL), 1);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	EVP_PKEY *k, *k2;
	X509 *x;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	ca = path("ca.crt");
	cert = path("client.crt");
	key = path("client.key");
	other_key = path("other.key");
	enc_key = path("encrypted.key");
	garbage = path("garbage.pem");
	missing = path("not-there.crt");
	k = new_key();
	k2 = new_key();
	x = new_cert(k);
	write_cert(ca, x); /* self-signed: its own CA */
	write_cert(cert, x);
	write_key(key, k, NULL);
	write_key(other_key, k2, NULL);
	write_key(enc_key, k, "secret");
	f = fopen(garbage, "w");
	assert_non_null(f);
	fputs("this is not PEM\n", f);
	assert_int_equal(fclose(f), 0);
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	return 0;
}

static int teardown(void **state)
{
	char *all[] = { ca, cert, key, other_key, enc_key, garbage, missing };

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		unlink(all[i]);
		free(all[i]);
	}
	rmdir(dir);
	return 0;
}

static enum tlsfiles_state check(const char *c, const char *ce, const char *k, int64_t now,
    char *why, size_t len)
{
	return tlsfiles_check(c, ce, k, now, NULL, why, len);
}

static void test_good_files(void **state)
{
	char why[256] = "x";
	int64_t exp = 0;

	(void)state;
	assert_int_equal(tlsfiles_check(ca, cert, key, NOW, &exp, why, sizeof(why)), TLSFILES_OK);
	assert_string_equal(why, "");
	assert_int_equal(exp, NOT_AFTER);
	/* Nothing configured is nothing to check. */
	assert_int_equal(check(NULL, NULL, NULL, NOW, why, sizeof(why)), TLSFILES_OK);
	/* A CA alone (server authentication only). */
	assert_int_equal(check(ca, NULL, NULL, NOW, why, sizeof(why)), TLSFILES_OK);
}

static void test_missing_is_waited_for(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(check(missing, cert, key, NOW, why, sizeof(why)), TLSFILES_MISSING);
	assert_non_null(strstr(why, "vipd.etcd.caFile"));
	assert_non_null(strstr(why, "not-there.crt: no such file"));
	assert_int_equal(check(ca, missing, key, NOW, why, sizeof(why)), TLSFILES_MISSING);
	assert_non_null(strstr(why, "vipd.etcd.certFile"));
}

static void test_not_pem(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(check(garbage, cert, key, NOW, why, sizeof(why)), TLSFILES_BAD);
	assert_non_null(strstr(why, "vipd.etcd.caFile"));
	assert_non_null(strstr(why, "no PEM certificate"));
	assert_int_equal(check(ca, garbage, key, NOW, why, sizeof(why)), TLSFILES_BAD);
	assert_non_null(strstr(why, "vipd.etcd.certFile"));
	assert_non_null(strstr(why, "not a PEM certificate"));
	assert_int_equal(check(ca, cert, garbage, NOW, why, sizeof(why)), TLSFILES_BAD);
	assert_non_null(strstr(why, "vipd.etcd.keyFile"));
	/* A certificate given as the key is no key either. */
	assert_int_equal(check(ca, cert, cert, NOW, why, sizeof(why)), TLSFILES_BAD);
	assert_non_null(strstr(why, "not a PEM private key"));
}

static void test_key_of_another_certificate(void **state)
{
	char why[512];

	(void)state;
	assert_int_equal(check(ca, cert, other_key, NOW, why, sizeof(why)), TLSFILES_BAD);
	assert_non_null(strstr(why, "vipd.etcd.keyFile"));
	assert_non_null(strstr(why, "does not belong to the certificate in vipd.etcd.certFile"));
}

static void test_encrypted_key_never_prompts(void **state)
{
	char why[256];

	(void)state;
	/* stdin is not read: a prompt would hang here. */
	assert_int_equal(check(ca, cert, enc_key, NOW, why, sizeof(why)), TLSFILES_BAD);
	assert_non_null(strstr(why, "needs a passphrase"));
}

static void test_validity(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(check(ca, cert, key, NOT_AFTER + 3600, why, sizeof(why)), TLSFILES_BAD);
	assert_non_null(strstr(why, "expired 3600 s ago"));
	assert_int_equal(check(ca, cert, key, NOT_BEFORE - 60, why, sizeof(why)), TLSFILES_BAD);
	assert_non_null(strstr(why, "not valid for another 60 s"));
	/* The window's edges are inside it. */
	assert_int_equal(check(ca, cert, key, NOT_AFTER, why, sizeof(why)), TLSFILES_OK);
	assert_int_equal(check(ca, cert, key, NOT_BEFORE, why, sizeof(why)), TLSFILES_OK);
}

static void test_worst_problem_wins(void **state)
{
	char why[256], small[24];

	(void)state;
	/* A missing CA and a broken key: the broken key is what to fix. */
	assert_int_equal(check(missing, cert, garbage, NOW, why, sizeof(why)), TLSFILES_BAD);
	assert_non_null(strstr(why, "vipd.etcd.keyFile"));
	/* The message is cut to fit, always terminated. */
	assert_int_equal(check(garbage, NULL, NULL, NOW, small, sizeof(small)), TLSFILES_BAD);
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_files),
		cmocka_unit_test(test_missing_is_waited_for),
		cmocka_unit_test(test_not_pem),
		cmocka_unit_test(test_key_of_another_certificate),
		cmocka_unit_test(test_encrypted_key_never_prompts),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_worst_problem_wins),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
