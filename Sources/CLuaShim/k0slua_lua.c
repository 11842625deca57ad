#include "k0slua_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define K0S_HOOK_COUNT 1000

k0s_budget *k0s_budget_of(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return (k0s_budget *)ud;
}

int64_t k0s_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

void k0s_set_deadline(k0s_budget *budget, double seconds) {
    budget->deadline_ns = seconds > 0 ? k0s_now_ns() + (int64_t)(seconds * 1e9) : 0;
}

static int past_deadline(k0s_budget *b) {
    return b->enforcing && b->deadline_ns != 0 && k0s_now_ns() > b->deadline_ns;
}

void k0s_check_deadline(lua_State *L, k0s_budget *b) {
    if (!past_deadline(b)) return;
    if (b->exhausted == K0S_NOT_EXHAUSTED) b->exhausted = K0S_TIME_EXHAUSTED;
    luaL_error(L, "time budget exhausted");
}

/* ---- table-line map: open addressing on the Table pointer ---- */

static size_t slot_for(const k0s_budget *b, const void *p) {
    uintptr_t h = (uintptr_t)p;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    return (size_t)(h & (b->table_capacity - 1));
}

static void record_table(k0s_budget *b, void *p, int line, int64_t sequence, unsigned char claimable);

static void grow_table_map(k0s_budget *b) {
    size_t old_capacity = b->table_capacity;
    void **old_keys = b->table_keys;
    int *old_lines = b->table_lines;
    int64_t *old_sequences = b->table_sequences;
    unsigned char *old_claimable = b->table_claimable;
    size_t capacity = old_capacity ? old_capacity * 2 : 1024;
    void **keys = calloc(capacity, sizeof(void *));
    int *lines = calloc(capacity, sizeof(int));
    int64_t *sequences = calloc(capacity, sizeof(int64_t));
    unsigned char *claimable = calloc(capacity, 1);
    if (keys == NULL || lines == NULL || sequences == NULL || claimable == NULL) {
        free(keys); free(lines); free(sequences); free(claimable);
        return;
    }
    b->table_keys = keys;
    b->table_lines = lines;
    b->table_sequences = sequences;
    b->table_claimable = claimable;
    b->table_capacity = capacity;
    b->table_count = 0;
    for (size_t i = 0; i < old_capacity; i++) {
        if (old_keys[i] != NULL) record_table(b, old_keys[i], old_lines[i], old_sequences[i], old_claimable[i]);
    }
    free(old_keys);
    free(old_lines);
    free(old_sequences);
    free(old_claimable);
}

static void record_table(k0s_budget *b, void *p, int line, int64_t sequence, unsigned char claimable) {
    if ((b->table_count + 1) * 2 > b->table_capacity) grow_table_map(b);
    if (b->table_capacity == 0) return;
    size_t i = slot_for(b, p);
    while (b->table_keys[i] != NULL && b->table_keys[i] != p) i = (i + 1) & (b->table_capacity - 1);
    if (b->table_keys[i] == NULL) b->table_count++;
    b->table_keys[i] = p;
    b->table_lines[i] = line;
    b->table_sequences[i] = sequence;
    b->table_claimable[i] = claimable;
}

static int lookup_table(const k0s_budget *b, const void *p) {
    if (b->table_capacity == 0) return 0;
    size_t i = slot_for(b, p);
    while (b->table_keys[i] != NULL) {
        if (b->table_keys[i] == p) return b->table_lines[i];
        i = (i + 1) & (b->table_capacity - 1);
    }
    return 0;
}

/* ---- capped allocator ---- */

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    k0s_budget *b = (k0s_budget *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        b->memory_used -= old;
        return NULL;
    }
    /* The budget is for live data. Garbage is only found by a collection, and the allocator must
       not run one (it is called from inside Lua), so:
       - up to 1.5 times the limit an allocation is granted on credit and the hook collects at the
         next instruction; the budget is exhausted only if live data is still over the limit then;
       - past that it is refused. Lua then collects (emergency collection) and asks once more for
         the same block (lmem.c); only a refusal of that retry, or a block larger than the whole
         budget, exhausts the budget at once. Buffers of the auxiliary library (string.rep,
         table.concat) are not retried: the hook checks them after its collection. */
    size_t wanted = b->memory_used - old + nsize;
    if (nsize > old && b->enforcing && wanted > b->memory_limit) {
        if (wanted <= b->memory_limit + b->memory_limit / 2 && nsize <= b->memory_limit) {
            b->collect_requested = 1;
        } else {
            int retry = b->refused_pending && b->refused_ptr == ptr && b->refused_osize == osize && b->refused_nsize == nsize;
            if (retry || nsize > b->memory_limit) b->exhausted = K0S_MEMORY_EXHAUSTED;
            b->refused_pending = !retry;
            b->refused_ptr = ptr;
            b->refused_osize = osize;
            b->refused_nsize = nsize;
            return NULL;
        }
    }
    void *block = realloc(ptr, nsize);
    if (block == NULL) return NULL;
    b->memory_used = b->memory_used - old + nsize;
    if (b->memory_used > b->memory_peak) b->memory_peak = b->memory_used;
    /* When ptr is NULL, osize encodes the type of the new object (Lua 5.4 manual, lua_Alloc). */
    if (ptr == NULL && osize == LUA_TTABLE && b->current_line > 0) {
        record_table(b, block, b->current_line, ++b->allocation_sequence, (unsigned char)b->in_tracked);
    }
    return block;
}

lua_State *k0s_newstate(k0s_budget *budget) {
    return lua_newstate(capped_alloc, budget);
}

void k0s_close(lua_State *L, k0s_budget *budget) {
    budget->enforcing = 0;
    lua_close(L);
    free(budget->table_keys);
    free(budget->table_lines);
    free(budget->table_sequences);
    free(budget->table_claimable);
    budget->table_keys = NULL;
    budget->table_lines = NULL;
    budget->table_sequences = NULL;
    budget->table_claimable = NULL;
    budget->table_capacity = 0;
    budget->table_count = 0;
}

/* ---- hook: instruction budget + line tracking ---- */

static int is_tracked(k0s_budget *b, const char *source) {
    if (b->tracked_source == NULL || source == NULL) return 0;
    if (source == b->tracked_source_ptr) return 1;
    if (b->tracked_source_ptr == NULL && strcmp(source, b->tracked_source) == 0) {
        b->tracked_source_ptr = source;
        return 1;
    }
    return 0;
}

/* A full collection when the allocator asked for one or half the budget was allocated since the
   last; then the memory budget is judged on what is live. */
static void collect_if_needed(lua_State *L, k0s_budget *b) {
    if (!b->enforcing || b->exhausted != K0S_NOT_EXHAUSTED) return;
    if (!b->collect_requested && !b->refused_pending && b->memory_used <= b->collect_at) return;
    lua_gc(L, LUA_GCCOLLECT);
    if (b->memory_used > b->memory_limit) b->exhausted = K0S_MEMORY_EXHAUSTED;
    if (b->refused_pending && b->memory_used + b->refused_nsize > b->memory_limit) b->exhausted = K0S_MEMORY_EXHAUSTED;
    b->collect_requested = 0;
    b->refused_pending = 0;
    b->collect_at = b->memory_used + b->memory_limit / 2;
}

static void budget_hook(lua_State *L, lua_Debug *ar) {
    k0s_budget *b = k0s_budget_of(L);
    collect_if_needed(L, b);
    if (ar->event == LUA_HOOKLINE) {
        b->in_tracked = lua_getinfo(L, "S", ar) && is_tracked(b, ar->source);
        if (b->in_tracked) b->current_line = ar->currentline;
    } else if (ar->event == LUA_HOOKCALL || ar->event == LUA_HOOKTAILCALL) {
        b->in_tracked = lua_getinfo(L, "S", ar) && is_tracked(b, ar->source);
    } else if (ar->event == LUA_HOOKRET) {
        lua_Debug caller;
        b->in_tracked = lua_getstack(L, 1, &caller) && lua_getinfo(L, "S", &caller) && is_tracked(b, caller.source);
    } else if (ar->event == LUA_HOOKCOUNT) {
        b->instructions_used += K0S_HOOK_COUNT;
        if (b->exhausted == K0S_NOT_EXHAUSTED && past_deadline(b)) b->exhausted = K0S_TIME_EXHAUSTED;
    }
    if (b->exhausted == K0S_NOT_EXHAUSTED && b->instructions_used > b->instruction_limit) {
        b->exhausted = K0S_INSTRUCTIONS_EXHAUSTED;
    }
    if (b->exhausted != K0S_NOT_EXHAUSTED && b->enforcing) {
        /* Re-arm on every instruction: a pcall that swallows this error gets it again at once. */
        lua_sethook(L, budget_hook, LUA_MASKLINE | LUA_MASKCOUNT | LUA_MASKCALL | LUA_MASKRET, 1);
        luaL_error(L, b->exhausted == K0S_MEMORY_EXHAUSTED ? "memory budget exhausted"
                      : b->exhausted == K0S_TIME_EXHAUSTED ? "time budget exhausted" : "instruction budget exhausted");
    }
}

void k0s_install_hook(lua_State *L, k0s_budget *budget) {
    (void)budget;
    lua_sethook(L, budget_hook, LUA_MASKLINE | LUA_MASKCOUNT | LUA_MASKCALL | LUA_MASKRET, K0S_HOOK_COUNT);
}

/* ---- sandboxed libraries ---- */

static int text_only_load(lua_State *L) {
    size_t len = 0;
    const char *chunk = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, "=(load)");
    const char *mode = luaL_optstring(L, 3, "t");
    if (strcmp(mode, "t") != 0) return luaL_error(L, "load: only text chunks are allowed (mode \"t\")");
    int env = !lua_isnone(L, 4);
    int status = luaL_loadbufferx(L, chunk, len, name, "t");
    if (status != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env) {
        lua_pushvalue(L, 4);
        if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    }
    return 1;
}

/* Finalizers run with hooks switched off (lgc.c), so a __gc metamethod could loop beyond every
   budget; setmetatable refuses them (an object is only marked for finalization if its metatable
   has __gc when it is set). */
static int setmetatable_without_gc(lua_State *L) {
    if (lua_type(L, 2) == LUA_TTABLE) {
        if (lua_getfield(L, 2, "__gc") != LUA_TNIL) return luaL_error(L, "setmetatable: __gc metamethods are not available in the sandbox");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* ---- table.sort: comparisons count ----
   Without an order function liblua's sort compares in C (lua_compare), where the count hook never
   runs: a sort of millions of elements is one C call of many seconds. The sandbox's table.sort
   therefore always hands liblua an order function: the caller's (a Lua function, whose
   instructions the hook counts) or less_than, which charges each comparison to the instruction
   budget (one unit, plus one per 64 bytes of the shorter of two strings) and reads the clock every
   K0S_COMPARES_PER_CHECK units, as the pattern matcher does. Results and errors are liblua's. */

#define K0S_COMPARES_PER_CHECK 4096

static int less_than(lua_State *L) {
    k0s_budget *b = k0s_budget_of(L);
    int64_t cost = 1;
    if (lua_type(L, 1) == LUA_TSTRING && lua_type(L, 2) == LUA_TSTRING) {
        size_t la = 0, lb = 0;
        lua_tolstring(L, 1, &la);
        lua_tolstring(L, 2, &lb);
        cost += (int64_t)((la < lb ? la : lb) / 64);
    }
    b->instructions_used += cost;
    if (b->enforcing && b->instructions_used > b->instruction_limit) {
        if (b->exhausted == K0S_NOT_EXHAUSTED) b->exhausted = K0S_INSTRUCTIONS_EXHAUSTED;
        return luaL_error(L, "instruction budget exhausted");
    }
    b->match_units += cost;
    if (b->match_units >= K0S_COMPARES_PER_CHECK) {
        b->match_units = 0;
        k0s_check_deadline(L, b);
    }
    lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
    return 1;
}

/* stack: t [comp] → (nothing); upvalue 1: liblua's table.sort. Argument errors are raised here
   as liblua raises them, so that they name table.sort (liblua's own is no longer findable). */
static int budgeted_sort(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_isnoneornil(L, 2)) {
        lua_settop(L, 1);
        lua_pushcfunction(L, less_than);
    } else if (lua_type(L, 2) != LUA_TFUNCTION && luaL_len(L, 1) > 1) {
        luaL_checktype(L, 2, LUA_TFUNCTION);
    }
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 0);
    return 0;
}

static int open_sandbox(lua_State *L) {
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    lua_pop(L, 5);
    lua_pushnil(L); lua_setglobal(L, "dofile");
    lua_pushnil(L); lua_setglobal(L, "loadfile");
    lua_pushnil(L); lua_setglobal(L, "collectgarbage");
    lua_pushcfunction(L, text_only_load); lua_setglobal(L, "load");
    lua_getglobal(L, "setmetatable");
    lua_pushcclosure(L, setmetatable_without_gc, 1);
    lua_setglobal(L, "setmetatable");
    lua_getglobal(L, LUA_TABLIBNAME);
    lua_getfield(L, -1, "sort");
    lua_pushcclosure(L, budgeted_sort, 1);
    lua_setfield(L, -2, "sort");
    lua_pop(L, 1);
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L); lua_setfield(L, -2, "dump");
    k0s_install_patterns(L);
    lua_pop(L, 1);
    /* The string metatable's __index is the string table, so ("").dump is gone too. */
    return 0;
}

int k0s_open_sandbox(lua_State *L) {
    lua_pushcfunction(L, open_sandbox);
    return lua_pcall(L, 0, 0, 0);
}

int k0s_load_text(lua_State *L, const char *buf, size_t len, const char *chunkname) {
    k0s_budget *b = k0s_budget_of(L);
    int previous = b->enforcing;
    b->enforcing = 1;
    int status = luaL_loadbufferx(L, buf, len, chunkname, "t");
    b->enforcing = previous;
    return status;
}

/* ---- protected calls ---- */

static int traceback_handler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
            msg = lua_tostring(L, -1);
        } else {
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
        }
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

void k0s_push_traceback_handler(lua_State *L) {
    lua_pushcfunction(L, traceback_handler);
}

double k0s_seconds_left(k0s_budget *budget) {
    if (budget->deadline_ns == 0) return 0;
    int64_t left = budget->deadline_ns - k0s_now_ns();
    return left > 0 ? (double)left / 1e9 : 0;
}

int k0s_pcall(lua_State *L, int nargs, int nresults) {
    k0s_budget *b = k0s_budget_of(L);
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback_handler);
    lua_insert(L, base);
    int previous = b->enforcing;
    b->enforcing = 1;
    int status = lua_pcall(L, nargs, nresults, base);
    b->enforcing = previous;
    lua_remove(L, base);
    return status;
}

int k0s_table_line(lua_State *L, k0s_budget *budget, int index) {
    return lookup_table(budget, lua_topointer(L, index));
}

/* ---- host-function trampoline ---- */

static int trampoline(lua_State *L) {
    k0s_host_function fn = (k0s_host_function)lua_touserdata(L, lua_upvalueindex(1));
    k0s_budget *b = k0s_budget_of(L);
    int previous = b->enforcing;
    b->enforcing = 0;
    /* Waiting for the host (a program run by ctx.run, say) is not Lua's time. */
    int64_t started = b->deadline_ns != 0 ? k0s_now_ns() : 0;
    int results = fn(L);
    if (b->deadline_ns != 0) b->deadline_ns += k0s_now_ns() - started;
    b->enforcing = previous;
    if (results == K0S_RAISE) {
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
        return lua_error(L);
    }
    /* Host functions allocate unchecked; the hook judges what is live at the next instruction. */
    if (b->enforcing && b->memory_used > b->memory_limit) b->collect_requested = 1;
    return results;
}

void k0s_push_host_function(lua_State *L, k0s_host_function fn, int nupvalues) {
    lua_pushlightuserdata(L, (void *)fn);
    lua_insert(L, -(nupvalues + 1));
    lua_pushcclosure(L, trampoline, nupvalues + 1);
}

/* ---- strict globals ---- */

static int declared_table(lua_State *L) {
    /* stack: ... → ... declared */
    if (lua_getfield(L, LUA_REGISTRYINDEX, "k0slua.declared") != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, "k0slua.declared");
    }
    return 1;
}

static int caller_is_main_or_c(lua_State *L) {
    lua_Debug ar;
    if (!lua_getstack(L, 1, &ar)) return 1;
    lua_getinfo(L, "S", &ar);
    return strcmp(ar.what, "main") == 0 || strcmp(ar.what, "C") == 0;
}

static int strict_newindex(lua_State *L) {
    /* args: t k v */
    declared_table(L);
    lua_pushvalue(L, 2);
    int known = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 1);
    if (!known) {
        if (!caller_is_main_or_c(L)) {
            return luaL_error(L, "assignment to undeclared global '%s' inside a function (declare it at the top level or use 'local')",
                              lua_tostring(L, 2) ? lua_tostring(L, 2) : "?");
        }
        lua_pushvalue(L, 2);
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
    }
    lua_pop(L, 1);
    lua_rawset(L, 1);
    return 0;
}

static int strict_index(lua_State *L) {
    /* args: t k */
    declared_table(L);
    lua_pushvalue(L, 2);
    int known = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    if (!known && lua_type(L, 2) == LUA_TSTRING) {
        return luaL_error(L, "undeclared global '%s'", lua_tostring(L, 2));
    }
    return 0;
}

void k0s_make_globals_strict(lua_State *L) {
    lua_pushglobaltable(L);
    lua_newtable(L);
    lua_pushcfunction(L, strict_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, strict_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
}

/* ---- macros Swift cannot import ---- */

const char *k0s_tolstring_raw(lua_State *L, int index, size_t *len) {
    if (lua_type(L, index) != LUA_TSTRING) return NULL;
    return lua_tolstring(L, index, len);
}

int k0s_upvalueindex(int i) { return lua_upvalueindex(i); }
int k0s_registryindex(void) { return LUA_REGISTRYINDEX; }
void k0s_pop(lua_State *L, int n) { lua_pop(L, n); }
int k0s_ref(lua_State *L) { return luaL_ref(L, LUA_REGISTRYINDEX); }
void k0s_unref(lua_State *L, int ref) { luaL_unref(L, LUA_REGISTRYINDEX, ref); }
void k0s_getref(lua_State *L, int ref) { lua_rawgeti(L, LUA_REGISTRYINDEX, ref); }
int k0s_isinteger(lua_State *L, int index) { return lua_isinteger(L, index); }
