/*
 * banned.h — libc calls that carewire never uses.
 *
 * Included last by every carewire source file (through the compiler's
 * -include flag set in meson.build), so that a use of one of these is a
 * compile error. Use buf_*(), snprintf() and strtol()-style parsing instead.
 */
#ifndef CW_BANNED_H
#define CW_BANNED_H

#define CW_BANNED(func) sorry_##func##_is_banned_in_carewire

#undef strcpy
#define strcpy(x, y) CW_BANNED(strcpy)
#undef strcat
#define strcat(x, y) CW_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) CW_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) CW_BANNED(strncat)
#undef sprintf
#define sprintf(...) CW_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) CW_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) CW_BANNED(strtok)
#undef atoi
#define atoi(x) CW_BANNED(atoi)
#undef atol
#define atol(x) CW_BANNED(atol)
#undef gets
#define gets(x) CW_BANNED(gets)

#endif
