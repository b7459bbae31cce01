#include <stdio.h>
#include <editline/readline.h>

/* libedit's completion hooks are C globals; Swift 6 refuses to touch shared
   mutable globals directly, so these accessors are the one place that does.
   Only the thread running readline() calls them. */
static inline void cedit_set_completion_function(rl_completion_func_t *function) {
    rl_attempted_completion_function = function;
}

static inline const char *cedit_line_buffer(void) {
    return rl_line_buffer;
}

static inline void cedit_set_completion_over(int over) {
    rl_attempted_completion_over = over;
}

/* apdu-shell handles Ctrl-C itself (a SIGINT handler raises a flag), so
   libedit must neither install its own handlers nor restart reads. */
static inline void cedit_set_catch_signals(int value) {
    rl_catch_signals = value;
}

static inline void cedit_set_getc_function(int (*function)(FILE *)) {
    rl_getc_function = function;
}

static inline int cedit_history_length(void) {
    return history_length;
}

static inline int cedit_history_base(void) {
    return history_base;
}
