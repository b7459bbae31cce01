/* The PKCS#11 types and constants (p11-kit's pkcs11.h). dmboot links no
   PKCS#11 library: it dlopens the module an RFC 7512 URI names. */
#include <p11-kit/pkcs11.h>
