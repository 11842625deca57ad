#ifndef K0SLUA_LUA_H
#define K0SLUA_LUA_H

/* The same message for both ways of getting Lua wrong: no lua.h at all (otherwise a bare "'lua.h'
   file not found"), or another version's. #error does not expand macros, so it is written twice;
   the include after the first one stops the compiler there (a missing include is fatal). */
#if defined(__has_include) && !__has_include(<lua.h>)
#error "k0slua needs the Lua 5.4 headers: run ./setup (Debian/Ubuntu: sudo apt-get install liblua5.4-dev pkg-config; macOS: brew install lua@5.4 pkg-config and build with task, which points pkg-config at lua@5.4), then touch Package.swift (SwiftPM reuses a failed pkg-config lookup until the manifest changes; rm -rf .build also works)"
#include <lua.h>
#else
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#if !defined(LUA_VERSION_NUM) || LUA_VERSION_NUM != 504
#error "k0slua needs the Lua 5.4 headers: run ./setup (Debian/Ubuntu: sudo apt-get install liblua5.4-dev pkg-config; macOS: brew install lua@5.4 pkg-config and build with task, which points pkg-config at lua@5.4), then touch Package.swift (SwiftPM reuses a failed pkg-config lookup until the manifest changes; rm -rf .build also works)"
#endif
#endif
#include <stddef.h>
#include <stdint.h>

/// Why a script was stopped by the host; sticky once set.
typedef enum k0s_exhaustion {
    K0S_NOT_EXHAUSTED = 0,
    K0S_INSTRUCTIONS_EXHAUSTED = 1,
    K0S_MEMORY_EXHAUSTED = 2,
    K0S_TIME_EXHAUSTED = 3,
} k0s_exhaustion;

/// Budgets and bookkeeping shared by the allocator and the hook of one lua_State.
typedef struct k0s_budget {
    size_t memory_limit;
    size_t memory_used;
    size_t memory_peak;
    int64_t instruction_limit;
    int64_t instructions_used;
    int enforcing;          /* the allocator refuses over the limit only while Lua code runs */
    k0s_exhaustion exhausted;
    /* Source-line tracking: the last executed line of the tracked chunk (cluster.lua). */
    const char *tracked_source;        /* e.g. "@cluster.lua" */
    const void *tracked_source_ptr;    /* cached TString content pointer once matched */
    int current_line;
    int in_tracked;                    /* the running function belongs to the tracked chunk */
    int64_t allocation_sequence;
    /* pointer -> (line, sequence, constructed-in-tracked-chunk) for tables created while tracked
       lines were known */
    void **table_keys;
    int *table_lines;
    int64_t *table_sequences;
    unsigned char *table_claimable;
    size_t table_capacity;
    size_t table_count;
    /* Wall clock: monotonic nanoseconds after which running Lua (and the pattern matcher) is
       stopped; 0 for none. Time inside host functions moves the deadline on (see trampoline). */
    int64_t deadline_ns;
    /* Pattern-matcher work counted since it last read the clock (k0slua_patterns.c). */
    int64_t match_units;
    /* The memory budget counts live data, not garbage (see capped_alloc and collect_if_needed). */
    const void *refused_ptr;           /* the last refused request, which Lua may retry once */
    size_t refused_osize;
    size_t refused_nsize;
    int refused_pending;
    int collect_requested;             /* over the limit on credit: collect at the next hook event */
    size_t collect_at;                 /* collect at the next hook event once memory_used passes this */
} k0s_budget;

/// A new state whose allocations are counted against `budget` (caller owns budget and frees it
/// after k0s_close).
lua_State *k0s_newstate(k0s_budget *budget);
void k0s_close(lua_State *L, k0s_budget *budget);

/// Opens base, table, string, math and utf8 only, and removes dofile, loadfile, load and
/// string.dump; string.find/match/gmatch/gsub are the budgeted matcher (k0slua_patterns.c). Never raises (runs protected); returns a Lua status.
int k0s_open_sandbox(lua_State *L);

/// Sets the wall-clock deadline `seconds` from now (0 or less: none) and clears a previous one.
void k0s_set_deadline(k0s_budget *budget, double seconds);

/// Installs the count+line hook that enforces the instruction budget and tracks lines.
void k0s_install_hook(lua_State *L, k0s_budget *budget);

/// Loads a text chunk (binary chunks refused). Never raises; returns a Lua status with the
/// function or an error message on the stack.
int k0s_load_text(lua_State *L, const char *buf, size_t len, const char *chunkname);

/// lua_pcall with a traceback message handler; enables memory enforcement for the duration.
/// stack: f args → results | message
int k0s_pcall(lua_State *L, int nargs, int nresults);

/// Pushes k0s_pcall's message handler (the message and the traceback of the thread that raised),
/// for an xpcall inside a coroutine. stack: → handler
void k0s_push_traceback_handler(lua_State *L);

/// Seconds left before the deadline set by k0s_set_deadline (host waits extend it); 0 if none.
double k0s_seconds_left(k0s_budget *budget);

/// The line at which the table at `index` was created in the tracked chunk, or 0. NEWTABLE carries
/// the line of the token before `{`; the host corrects that against the source text.
int k0s_table_line(lua_State *L, k0s_budget *budget, int index);

/// A Swift host function: reads its arguments, pushes results and returns their count, or pushes
/// an error message and returns K0S_RAISE (the trampoline raises it with the caller's position).
/// It must only call Lua functions that cannot raise (rawget/rawset/push*/to*): memory limits are
/// not enforced while it runs.
typedef int (*k0s_host_function)(lua_State *L);
#define K0S_RAISE (-1)
/// Pushes a C closure that calls `fn` through the trampoline; `fn` sees upvalues 2...n+1 of the
/// closure as `lua_upvalueindex(2)...` after the n values on top of the stack.
/// stack: upvalues... → closure (never raises except on memory exhaustion at setup time)
void k0s_push_host_function(lua_State *L, k0s_host_function fn, int nupvalues);

/// Makes _G strict: reading an undeclared global or assigning a new one outside the main chunk
/// is an error. stack: unchanged
void k0s_make_globals_strict(lua_State *L);

/// Pops the value on top of the stack and reports whether it is a string; copies its bytes.
const char *k0s_tolstring_raw(lua_State *L, int index, size_t *len);

int k0s_upvalueindex(int i);
int k0s_registryindex(void);
void k0s_pop(lua_State *L, int n);
int k0s_ref(lua_State *L);
void k0s_unref(lua_State *L, int ref);
void k0s_getref(lua_State *L, int ref);
int k0s_isinteger(lua_State *L, int index);

#endif
