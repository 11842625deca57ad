#ifndef K0SLUA_INTERNAL_H
#define K0SLUA_INTERNAL_H

#include "k0slua_lua.h"

/* Shared by the files of the shim; not part of its interface to Swift. */

k0s_budget *k0s_budget_of(lua_State *L);

/* Monotonic nanoseconds. */
int64_t k0s_now_ns(void);

/* Raises "time budget exhausted" (and makes the exhaustion sticky) once the deadline has passed
   while budgets are enforced; returns otherwise. Only from a lua_CFunction (it may longjmp). */
void k0s_check_deadline(lua_State *L, k0s_budget *b);

/* Replaces string.find, string.match, string.gmatch and string.gsub with the budgeted matcher.
   stack: string-table → string-table */
void k0s_install_patterns(lua_State *L);

#endif
