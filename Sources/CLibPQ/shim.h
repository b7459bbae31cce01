#include <dlfcn.h>
#include <libpq-fe.h>

/* libpq is loaded when the results database is first used (dlopen), not at
   start-up: it pulls in Kerberos, LDAP and GnuTLS, and every command that
   never talks to the database would pay for loading and relocating them.
   The table's types are the headers' own prototypes (typeof does not
   reference the symbols, so nothing links against libpq). */
typedef struct {
    __typeof__(&PQconnectdbParams) connectdbParams;
    __typeof__(&PQstatus) status;
    __typeof__(&PQerrorMessage) errorMessage;
    __typeof__(&PQfinish) finish;
    __typeof__(&PQsetNoticeProcessor) setNoticeProcessor;
    __typeof__(&PQexecParams) execParams;
    __typeof__(&PQclear) clear;
    __typeof__(&PQresultStatus) resultStatus;
    __typeof__(&PQresultErrorMessage) resultErrorMessage;
    __typeof__(&PQresultErrorField) resultErrorField;
    __typeof__(&PQnfields) nfields;
    __typeof__(&PQntuples) ntuples;
    __typeof__(&PQfname) fname;
    __typeof__(&PQgetisnull) getisnull;
    __typeof__(&PQgetvalue) getvalue;
    __typeof__(&PQconninfoParse) conninfoParse;
    __typeof__(&PQconninfoFree) conninfoFree;
    __typeof__(&PQfreemem) freemem;
} clibpq_functions;

#define CLIBPQ_BIND(field, name) \
    if (!(functions->field = (__typeof__(&name))dlsym(library, #name))) return "libpq.so.5 has no " #name;

/* Loads libpq into `functions`; NULL, or what went wrong. */
static inline const char *clibpq_load(clibpq_functions *functions) {
    void *library = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!library) return dlerror();
    CLIBPQ_BIND(connectdbParams, PQconnectdbParams)
    CLIBPQ_BIND(status, PQstatus)
    CLIBPQ_BIND(errorMessage, PQerrorMessage)
    CLIBPQ_BIND(finish, PQfinish)
    CLIBPQ_BIND(setNoticeProcessor, PQsetNoticeProcessor)
    CLIBPQ_BIND(execParams, PQexecParams)
    CLIBPQ_BIND(clear, PQclear)
    CLIBPQ_BIND(resultStatus, PQresultStatus)
    CLIBPQ_BIND(resultErrorMessage, PQresultErrorMessage)
    CLIBPQ_BIND(resultErrorField, PQresultErrorField)
    CLIBPQ_BIND(nfields, PQnfields)
    CLIBPQ_BIND(ntuples, PQntuples)
    CLIBPQ_BIND(fname, PQfname)
    CLIBPQ_BIND(getisnull, PQgetisnull)
    CLIBPQ_BIND(getvalue, PQgetvalue)
    CLIBPQ_BIND(conninfoParse, PQconninfoParse)
    CLIBPQ_BIND(conninfoFree, PQconninfoFree)
    CLIBPQ_BIND(freemem, PQfreemem)
    return 0;
}

/* libpq prints server notices (e.g. "relation already exists, skipping") on
   stderr by default; dmboot keeps stderr for its own status lines. */
static void clibpq_ignore_notice(void *argument, const char *message) {
    (void)argument;
    (void)message;
}

static inline void clibpq_silence_notices(const clibpq_functions *functions, PGconn *connection) {
    functions->setNoticeProcessor(connection, clibpq_ignore_notice, 0);
}
