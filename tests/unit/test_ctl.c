/*
 * test_ctl.c - the control socket's pure parts: the request line
 * (ctlproto), the role a VIP is in (policy_role) and vipctl's rendering
 * of answers (ctlview).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "ctlview.h"
#include "policy.h"

static int parse(const char *s, struct ctl_req *r, const char **why)
{
	return ctlproto_parse(s, strlen(s), r, why);
}

static void test_parse_valid(void **state)
{
	struct ctl_req r;
	const char *why = NULL;

	(void)state;
	assert_int_equal(parse("status\n", &r, &why), 1);
	assert_int_equal(r.cmd, CTL_STATUS);
	assert_string_equal(r.vip, "");
	assert_int_equal(parse("release 198.18.0.100\n", &r, &why), 1);
	assert_int_equal(r.cmd, CTL_RELEASE);
	assert_string_equal(r.vip, "198.18.0.100");
	assert_int_equal(parse("pause fd00:18::100\n", &r, &why), 1);
	assert_int_equal(r.cmd, CTL_PAUSE);
	assert_string_equal(r.vip, "fd00:18::100");
	assert_int_equal(parse("resume\nstatus\n", &r, &why), 1); /* one per connection */
	assert_int_equal(r.cmd, CTL_RESUME);
}

static void test_parse_incomplete_and_bounds(void **state)
{
	struct ctl_req r;
	const char *why = NULL;
	char *big = malloc(CTL_MAX_REQUEST + 1);

	(void)state;
	assert_int_equal(ctlproto_parse("", 0, &r, &why), 0);
	assert_int_equal(parse("stat", &r, &why), 0);
	/* No LF within the limit: too long, never "read more". */
	memset(big, 'a', CTL_MAX_REQUEST);
	assert_int_equal(ctlproto_parse(big, CTL_MAX_REQUEST - 1, &r, &why), 0);
	assert_int_equal(ctlproto_parse(big, CTL_MAX_REQUEST, &r, &why), -1);
	assert_string_equal(why, "request too long");
	/* A LF just past the limit: still too long. */
	big[CTL_MAX_REQUEST] = '\n';
	assert_int_equal(ctlproto_parse(big, CTL_MAX_REQUEST + 1, &r, &why), -1);
	assert_string_equal(why, "request too long");
	free(big);
}

static void test_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"\n", "Status\n", "status \n", "status  198.18.0.1\n", "status 198.18.0.1 \n",
		"status 198.18.0.1 x\n", "statusx\n", "status\r\n", "status x;y\n",
		"release ../etc\n", "pause 1111111111111111111111111111111111111111111111111111111111111111\n",
		" status\n", "bogus\n",
	};
	struct ctl_req r;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(parse(bad[i], &r, &why), -1);
		assert_non_null(why);
	}
	why = NULL;
	assert_int_equal(ctlproto_parse("status\0\n", 8, &r, &why), -1);
	assert_string_equal(why, "request is not printable ASCII");
	assert_int_equal(parse("status\r\n", &r, &why), -1);
	assert_string_equal(why, "request is not printable ASCII");
	assert_int_equal(parse("status\x7f\n", &r, &why), -1);
	assert_string_equal(why, "request is not printable ASCII");
}

static void test_format_round_trip(void **state)
{
	struct ctl_req r = { .cmd = CTL_PAUSE }, back;
	const char *why;
	char line[128];

	(void)state;
	snprintf(r.vip, sizeof(r.vip), "198.18.0.100");
	assert_int_equal(ctlproto_format(&r, line, sizeof(line)), (int)strlen("pause 198.18.0.100\n"));
	assert_string_equal(line, "pause 198.18.0.100\n");
	assert_int_equal(parse(line, &back, &why), 1);
	assert_int_equal(back.cmd, CTL_PAUSE);
	assert_string_equal(back.vip, "198.18.0.100");
	r.vip[0] = '\0';
	assert_int_equal(ctlproto_format(&r, line, sizeof(line)), 6);
	assert_int_equal(ctlproto_format(&r, line, 6), -1); /* no room for the NUL */
	snprintf(r.vip, sizeof(r.vip), "a b");
	assert_int_equal(ctlproto_format(&r, line, sizeof(line)), -1);
	assert_int_equal(ctlproto_cmd_parse("resume"), CTL_RESUME);
	assert_int_equal(ctlproto_cmd_parse("owners"), -1);
	assert_string_equal(ctlproto_cmd_name((enum ctl_cmd)42), "?");
}

static struct vip_facts good(void)
{
	return (struct vip_facts){
		.have_lease = true, .fence_ok = true, .link_up = true, .healthy = true,
		.leader = false, .probed = false,
	};
}

static void test_role(void **state)
{
	struct vip_facts f = good();

	(void)state;
	assert_string_equal(policy_role(&f, false), "candidate");
	f.leader = true; /* elected, probing the wire */
	assert_string_equal(policy_role(&f, false), "candidate");
	assert_string_equal(policy_role(&f, true), "owner");
	f = good(); f.paused = true;
	assert_string_equal(policy_role(&f, false), "paused");
	f.link_up = false; /* the operator's pause shows first */
	assert_string_equal(policy_role(&f, false), "paused");
	f = good(); f.link_up = false;
	assert_string_equal(policy_role(&f, false), "waiting-for-link");
	f = good(); f.link_unusable = true;
	assert_string_equal(policy_role(&f, false), "waiting-for-link");
	f = good(); f.healthy = false;
	assert_string_equal(policy_role(&f, false), "unhealthy");
	f = good(); f.stray_copy = true; f.have_lease = false;
	assert_string_equal(policy_role(&f, false), "conflict");
	f = good(); f.have_lease = false;
	assert_string_equal(policy_role(&f, false), "no-session");
	f = good(); f.fence_ok = false;
	assert_string_equal(policy_role(&f, false), "no-session");
	f = good(); f.conflict = true;
	assert_string_equal(policy_role(&f, false), "conflict");
	/* Held wins: status says what is on the wire. */
	f = good(); f.fence_ok = false;
	assert_string_equal(policy_role(&f, true), "owner");
}

static void test_duration(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(ctlview_duration(0, b, sizeof(b)), "0ms");
	assert_string_equal(ctlview_duration(850, b, sizeof(b)), "850ms");
	assert_string_equal(ctlview_duration(4250, b, sizeof(b)), "4.2s");
	assert_string_equal(ctlview_duration(-1500, b, sizeof(b)), "-1.5s");
	assert_string_equal(ctlview_duration(425000, b, sizeof(b)), "7m05s");
	assert_string_equal(ctlview_duration(3 * 3600000 + 12 * 60000, b, sizeof(b)), "3h12m");
	assert_string_equal(ctlview_duration(2 * 86400000LL + 4 * 3600000, b, sizeof(b)), "2d04h");
	assert_string_equal(ctlview_duration(INT64_MIN, b, sizeof(b)), "-106751991167d07h");
}

/* Render reply (JSON text) for cmd; returns out and err joined by "|". */
static char *render(const char *reply, const char *cmd, int *rc)
{
	json_t *j = json_loads(reply, 0, NULL);
	char *o = NULL, *e = NULL, *both;
	size_t ol = 0, el = 0;
	FILE *out = open_memstream(&o, &ol), *err = open_memstream(&e, &el);

	assert_non_null(j);
	*rc = ctlview_print(j, cmd, out, err);
	fclose(out);
	fclose(err);
	json_decref(j);
	assert_true(asprintf(&both, "%s|%s", o, e) > 0);
	free(o);
	free(e);
	return both;
}

static void test_view(void **state)
{
	int rc;
	char *s;

	(void)state;
	s = render("{\"ok\":true,\"command\":\"status\",\"node\":\"n1\",\"vips\":["
	    "{\"vip\":\"198.18.0.100\",\"link\":\"eth0\",\"role\":\"owner\",\"owner\":\"n1\","
	    "\"lease\":\"694d8a\",\"fence_left_ms\":4200,\"role_ms\":65000,\"reason\":\"elected\"},"
	    "{\"vip\":\"fd00:18::100\",\"link\":null,\"role\":\"waiting-for-link\",\"owner\":\"a b\","
	    "\"lease\":null,\"fence_left_ms\":null,\"role_ms\":null,\"reason\":\"link down\"}]}",
	    "status", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(s,
	    "VIP           LINK  ROLE              OWNER   LEASE   FENCE  IN-ROLE  REASON\n"
	    "198.18.0.100  eth0  owner             n1      694d8a  4.2s   1m05s    elected\n"
	    "fd00:18::100  -     waiting-for-link  a\\x20b  -       -      -        link down\n|");
	free(s);
	s = render("{\"ok\":false,\"command\":\"release\",\"node\":\"n2\",\"vips\":["
	    "{\"vip\":\"198.18.0.100\",\"result\":\"not held\",\"done\":false}],\"error\":\"not held\"}",
	    "release", &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(s, "198.18.0.100: not held\n|vipctl: release: not held\n");
	free(s);
	s = render("{\"ok\":false,\"error\":\"no such VIP on this node\",\"vip\":\"1.2.3.4\"}",
	    "pause", &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(s, "|vipctl: pause 1.2.3.4: no such VIP on this node\n");
	free(s);
	s = render("[1]", "status", &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(s, "|vipctl: status: the daemon's answer is not understood\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_incomplete_and_bounds),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_role),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_view),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
