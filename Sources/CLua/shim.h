#ifndef K0SLUA_CLUA_SHIM_H
#define K0SLUA_CLUA_SHIM_H
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#endif
