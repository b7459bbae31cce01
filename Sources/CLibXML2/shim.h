#include <libxml/xmlversion.h>
/* Debian builds libxml2 with ICU; its encoding.h would then pull in the
 * system ICU headers, which clash with the copy Foundation brings. dmboot
 * never touches the ICU converter fields, only pointers to them. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
