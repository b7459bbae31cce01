#include <libpq-fe.h>

/* libpq prints server notices (e.g. "relation already exists, skipping") on
   stderr by default; dmboot keeps stderr for its own status lines. */
static void clibpq_ignore_notice(void *argument, const char *message) {
    (void)argument;
    (void)message;
}

static inline void clibpq_silence_notices(PGconn *connection) {
    PQsetNoticeProcessor(connection, clibpq_ignore_notice, 0);
}
