/*
 * ctlview.h - vipctl's rendering of the control socket's answers (pure:
 * JSON in, text out), unit-tested in tests/unit/test_ctl.c.
 */
#ifndef VIPD_CTLVIEW_H
#define VIPD_CTLVIEW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* ms as a short duration: "850ms", "4.2s", "7m05s", "3h12m", "2d04h";
 * negative values get a leading '-'. Writes at most size bytes (NUL
 * included) into buf and returns buf. */
const char *ctlview_duration(int64_t ms, char *buf, size_t size);

/*
 * Print an answer (docs/operations.md, "vipctl") for people: status as
 * aligned columns (VIP LINK ROLE OWNER LEASE FENCE IN-ROLE REASON), an
 * action as one line per VIP ("VIP: result"). Text from the daemon is
 * escaped as in the logs. An answer with "ok": false, or one that is not
 * an answer, is reported on err as "vipctl: CMD: ...". Returns the exit
 * code: 0 ok, 1 error.
 */
int ctlview_print(const json_t *reply, const char *cmd, FILE *out, FILE *err);

#endif
