/*
 * loop.h - a small event loop: file descriptors, timers and signals.
 *
 * Everything in vipd plugs in by fd (netlink, libcurl's sockets, the
 * control socket, the metrics server) or by timer. Time is CLOCK_BOOTTIME
 * in milliseconds throughout, so wall-clock steps never move a deadline.
 * Callbacks run on the loop's thread; none may block.
 */
#ifndef VIPD_LOOP_H
#define VIPD_LOOP_H

#include <stdint.h>

struct loop;
struct loop_timer;

#define LOOP_READ  0x1u
#define LOOP_WRITE 0x2u
#define LOOP_ERROR 0x4u /* reported only: hang-up or error on the fd */

typedef void loop_fd_cb(int fd, unsigned events, void *arg);
typedef void loop_timer_cb(void *arg);
typedef void loop_signal_cb(int signo, void *arg);

/* Current CLOCK_BOOTTIME time in milliseconds: monotonic, and it keeps
 * counting while the machine is suspended, so a fence that passed during
 * a suspend is seen as passed at once on resume. */
uint64_t loop_now_ms(void);

struct loop *loop_new(void);
/* NULL-safe. Timers and fds still registered are forgotten, not closed. */
void loop_free(struct loop *l);

/* Watch fd for LOOP_READ/LOOP_WRITE. Returns 0 or -errno. */
int loop_fd_add(struct loop *l, int fd, unsigned events, loop_fd_cb *cb, void *arg);
/* Change the events watched; 0 keeps the fd registered but silent. */
int loop_fd_mod(struct loop *l, int fd, unsigned events);
/* Stop watching fd (does not close it). Safe to call from a callback. */
void loop_fd_del(struct loop *l, int fd);

/* A timer starts disarmed. Freeing it (NULL-safe) also disarms it. */
struct loop_timer *loop_timer_new(struct loop *l, loop_timer_cb *cb, void *arg);
void loop_timer_free(struct loop_timer *t);
/* Arm to fire once, delay_ms from now (re-arming replaces the deadline). */
void loop_timer_arm(struct loop_timer *t, uint64_t delay_ms);
/* Arm to fire once at an absolute loop_now_ms() time. */
void loop_timer_arm_at(struct loop_timer *t, uint64_t when_ms);
void loop_timer_disarm(struct loop_timer *t);
int loop_timer_armed(const struct loop_timer *t);
/* Deadline of an armed timer (loop_now_ms() time), 0 when disarmed. */
uint64_t loop_timer_deadline(const struct loop_timer *t);

/* Deliver signo through a signalfd; the signal is blocked for the process.
 * Returns 0 or -errno. */
int loop_signal(struct loop *l, int signo, loop_signal_cb *cb, void *arg);

/* Run until loop_stop(). Returns 0, or -errno if epoll itself fails. */
int loop_run(struct loop *l);
/* Make loop_run() return after the current iteration. */
void loop_stop(struct loop *l);

#endif
