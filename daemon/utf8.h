#ifndef BENJI_UTF8_H
#define BENJI_UTF8_H

#include <stddef.h>

size_t	 utf8_len(const unsigned char *, size_t);

#endif /* BENJI_UTF8_H */
