#include <dlfcn.h>
#include <libxml/xmlversion.h>
/* Debian builds libxml2 with ICU; its encoding.h would then pull in the
 * system ICU headers, which clash with the copy Foundation brings. dmboot
 * never touches the ICU converter fields, only pointers to them. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

/* libxml2 is loaded when the first XML document is read (dlopen), not at
 * start-up: it pulls in ICU, and the commands that never read XML would pay
 * for loading and relocating it. The table's types are the headers' own
 * prototypes (typeof does not reference the symbols, so nothing links
 * against libxml2). */
typedef struct {
    __typeof__(&xmlInitParser) initParser;
    __typeof__(&xmlSetStructuredErrorFunc) setStructuredErrorFunc;
    __typeof__(&xmlNewParserCtxt) newParserCtxt;
    __typeof__(&xmlFreeParserCtxt) freeParserCtxt;
    __typeof__(&xmlStopParser) stopParser;
    __typeof__(&xmlCtxtReadMemory) ctxtReadMemory;
    __typeof__(&xmlFreeDoc) freeDoc;
    __typeof__(&xmlDocGetRootElement) docGetRootElement;
    __typeof__(&xmlCtxtGetLastError) ctxtGetLastError;
    __typeof__(&xmlGetLineNo) getLineNo;
    __typeof__(&xmlStrlen) strlen;
} clibxml2_functions;

#define CLIBXML2_BIND(field, name) \
    if (!(functions->field = (__typeof__(&name))dlsym(library, #name))) return "libxml2.so.2 has no " #name;

/* Loads libxml2 into `functions`; NULL, or what went wrong. */
static inline const char *clibxml2_load(clibxml2_functions *functions) {
    void *library = dlopen("libxml2.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!library) return dlerror();
    CLIBXML2_BIND(initParser, xmlInitParser)
    CLIBXML2_BIND(setStructuredErrorFunc, xmlSetStructuredErrorFunc)
    CLIBXML2_BIND(newParserCtxt, xmlNewParserCtxt)
    CLIBXML2_BIND(freeParserCtxt, xmlFreeParserCtxt)
    CLIBXML2_BIND(stopParser, xmlStopParser)
    CLIBXML2_BIND(ctxtReadMemory, xmlCtxtReadMemory)
    CLIBXML2_BIND(freeDoc, xmlFreeDoc)
    CLIBXML2_BIND(docGetRootElement, xmlDocGetRootElement)
    CLIBXML2_BIND(ctxtGetLastError, xmlCtxtGetLastError)
    CLIBXML2_BIND(getLineNo, xmlGetLineNo)
    CLIBXML2_BIND(strlen, xmlStrlen)
    return 0;
}
