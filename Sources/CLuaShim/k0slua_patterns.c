/*
 * Lua 5.4 pattern matching with a wall-clock deadline.
 *
 * Why this exists: Lua's instruction hook only runs between VM instructions, never inside a C
 * function, and liblua's matcher (lstrlib.c) backtracks without bound: `s:match(("a?"):rep(40) ..
 * ("a"):rep(40))` is one C call that runs for hours. A watchdog thread cannot help (lua_sethook
 * from another thread only takes effect at the next instruction), and a signal cannot unwind a C
 * frame safely. k0slua links the system liblua, so its matcher cannot be patched either. Instead
 * the sandbox's string.find/match/gmatch/gsub are this matcher: the same pattern language and
 * results, but the work it does is charged as it goes: one unit per step of the backtracking, per
 * character a repetition or %b examines, per comparison of the quadratic plain find (one more per
 * 64 bytes compared), and per byte of a [set] compiled. A [set] is compiled once into a 256-bit
 * membership map (a small cache keyed by its position in the pattern), so testing a character
 * costs one unit whatever the set's length; a pattern with more sets than the cache holds pays
 * for every recompilation. Units count against the instruction budget at once, and the clock is
 * read every K0S_STEPS_PER_CHECK units counted across calls (k0s_budget.match_units); past either
 * limit it raises and marks the state exhausted, which the hook then re-raises on every
 * instruction. table.sort is budgeted the same way (k0slua_lua.c); all other C functions of the
 * sandbox run in time linear in data the memory budget bounds.
 *
 * What it is not: a second copy of anything Swift checks. No validation matches Lua patterns (the
 * decoder and Validate/ check decoded values by hand); this file serves only cluster.lua's own
 * string functions, which must stay interruptible. Its size is that of lstrlib's matcher (single
 * items and classes, sets, the backtracking match, captures and back references, and find, match,
 * gmatch and gsub with liblua's argument rules) plus the charging: leaving a part out would change
 * the results of some pattern, which the differential test against lua5.4 (LuaBudgetTests
 * resultsAreLiblua) would catch.
 */
#include "k0slua_internal.h"

#include <ctype.h>
#include <pthread.h>
#include <string.h>

#define K0S_STEPS_PER_CHECK 4096
#define K0S_MATCH_DEPTH 200
#define K0S_MAX_CAPTURES 32
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define ESCAPE '%'
#define SPECIALS "^$*+?.([%-"
#define K0S_SET_CACHE 32          /* a power of two */
#define K0S_COMPILE_CHUNK 1024    /* bytes of a set compiled per charge */

/* A compiled [set]: the pattern bytes from '[' to just past ']', and which of the 256 byte values
   it matches. */
typedef struct compiled_set {
    const char *start;
    const char *end;
    uint64_t bits[4];
} compiled_set;

typedef struct matcher {
    const char *subject;      /* start of the subject */
    const char *subject_end;  /* one past its last byte */
    const char *pattern_end;
    lua_State *L;
    k0s_budget *budget;
    int depth_left;
    int level;                /* captures open or closed so far */
    compiled_set sets[K0S_SET_CACHE];
    struct {
        const char *start;
        ptrdiff_t length;     /* or CAP_UNFINISHED / CAP_POSITION */
    } capture[K0S_MAX_CAPTURES];
} matcher;

static void over_instructions(matcher *m) {
    k0s_budget *b = m->budget;
    if (b->exhausted == K0S_NOT_EXHAUSTED) b->exhausted = K0S_INSTRUCTIONS_EXHAUSTED;
    luaL_error(m->L, "instruction budget exhausted");
}

/* Counts `cost` units of work about to be done (or just done, for single units) against the
   instruction budget, and reads the clock every K0S_STEPS_PER_CHECK units. */
static inline void charge(matcher *m, int64_t cost) {
    k0s_budget *b = m->budget;
    b->instructions_used += cost;
    if (b->instructions_used > b->instruction_limit && b->enforcing) over_instructions(m);
    b->match_units += cost;
    if (b->match_units >= K0S_STEPS_PER_CHECK) {
        b->match_units = 0;
        k0s_check_deadline(m->L, b);
    }
}

static void reset(matcher *m) {
    m->level = 0;
    m->depth_left = K0S_MATCH_DEPTH;
}

static void setup(matcher *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp) {
    m->L = L;
    m->budget = k0s_budget_of(L);
    m->subject = s;
    m->subject_end = s + ls;
    m->pattern_end = p + lp;
    memset(m->sets, 0, sizeof m->sets);
    reset(m);
}

/* Lua 5.4's string positions: negative counts from the end, 0 is 1. */
static size_t start_offset(lua_Integer position, size_t length) {
    if (position > 0) return (size_t)position;
    if (position == 0) return 1;
    if (position < -(lua_Integer)length) return 1;
    return length + (size_t)position + 1;
}

/* ---- single items ---- */

static int in_class(int c, int class) {
    int yes;
    switch (tolower(class)) {
    case 'a': yes = isalpha(c); break;
    case 'c': yes = iscntrl(c); break;
    case 'd': yes = isdigit(c); break;
    case 'g': yes = isgraph(c); break;
    case 'l': yes = islower(c); break;
    case 'p': yes = ispunct(c); break;
    case 's': yes = isspace(c); break;
    case 'u': yes = isupper(c); break;
    case 'w': yes = isalnum(c); break;
    case 'x': yes = isxdigit(c); break;
    case 'z': yes = c == 0; break; /* deprecated, still in 5.4 */
    default: return class == c;
    }
    return isupper(class) ? !yes : yes != 0;
}

/* The 256-bit map of every %x class, for compiling sets in one pass. Built once per process with
   the C library's classification (the locale is never changed). */
static uint64_t class_maps[128][4];
static pthread_once_t class_maps_once = PTHREAD_ONCE_INIT;

static void build_class_maps(void) {
    for (int class = 0; class < 128; class++) {
        for (int c = 0; c < 256; c++) {
            if (in_class(c, class)) class_maps[class][c >> 6] |= (uint64_t)1 << (c & 63);
        }
    }
}

static inline int set_has(const compiled_set *set, int c) {
    return (int)((set->bits[c >> 6] >> (c & 63)) & 1);
}

static inline void set_add(compiled_set *set, int c) {
    set->bits[c >> 6] |= (uint64_t)1 << (c & 63);
}

/* Compiles the [set] at p in one pass, charging a unit per byte, with liblua's reading of it
   (lstrlib.c classEnd and matchbracketclass): the first character after '[' or '[^' belongs to
   the set even when it is ']'; "%x" is a class or an escaped character; "a-z" is a range unless
   the '-' is followed by the closing ']'. */
static const compiled_set *compile_set(matcher *m, const char *p) {
    uintptr_t h = (uintptr_t)p;
    h ^= h >> 15;
    h *= 0x9E3779B97F4A7C15ull;
    compiled_set *set = &m->sets[(h >> 58) & (K0S_SET_CACHE - 1)];
    if (set->start == p) return set;
    pthread_once(&class_maps_once, build_class_maps);
    const char *q = p + 1;
    int negated = *q == '^';
    if (negated) q++;
    /* Find the closing ']' first, as liblua does before matching: a malformed set is an error. */
    const char *last = q;
    int64_t scanned = 0;
    do {
        if (last == m->pattern_end) luaL_error(m->L, "malformed pattern (missing ']')");
        char c = *last++;
        if (c == ESCAPE && last < m->pattern_end) last++;
        if (++scanned == K0S_COMPILE_CHUNK) {
            charge(m, scanned);
            scanned = 0;
        }
    } while (*last != ']');
    charge(m, scanned + 1);
    compiled_set fresh = { .start = p, .end = last + 1, .bits = { 0, 0, 0, 0 } };
    scanned = 0;
    for (q--; ++q < last;) {
        if (*q == ESCAPE) {
            q++;
            int class = (unsigned char)*q;
            if (class < 128) {
                for (int i = 0; i < 4; i++) fresh.bits[i] |= class_maps[class][i];
            } else {
                set_add(&fresh, class);
            }
        } else if (q[1] == '-' && q + 2 < last) {
            int low = (unsigned char)q[0], high = (unsigned char)q[2];
            for (int c = low; c <= high; c++) set_add(&fresh, c);
            if (high > low) scanned += (high - low) >> 5;
            q += 2;
        } else {
            set_add(&fresh, (unsigned char)*q);
        }
        if (++scanned >= K0S_COMPILE_CHUNK) {
            charge(m, scanned);
            scanned = 0;
        }
    }
    charge(m, scanned);
    if (negated) {
        for (int i = 0; i < 4; i++) fresh.bits[i] = ~fresh.bits[i];
    }
    *set = fresh;
    return set;
}

/* The end of the single-character class starting at p. */
static const char *item_end(matcher *m, const char *p) {
    char c = *p++;
    if (c == ESCAPE) {
        if (p == m->pattern_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') return compile_set(m, p - 1)->end;
    return p;
}

static int item_matches(matcher *m, const char *s, const char *p, const char *end) {
    (void)end;
    if (s >= m->subject_end) return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case ESCAPE: return in_class(c, (unsigned char)p[1]);
    case '[': return set_has(compile_set(m, p), c);
    default: return (unsigned char)*p == c;
    }
}

/* ---- the backtracking matcher ---- */

static const char *match(matcher *m, const char *s, const char *p);

static const char *balanced(matcher *m, const char *s, const char *p) {
    if (p >= m->pattern_end - 1) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->subject_end || *s != *p) return NULL;
    char open = p[0], close = p[1];
    int depth = 1;
    while (++s < m->subject_end) {
        charge(m, 1);
        if (*s == close) {
            if (--depth == 0) return s + 1;
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

static const char *longest_first(matcher *m, const char *s, const char *p, const char *end) {
    ptrdiff_t count = 0;
    while (item_matches(m, s + count, p, end)) {
        count++;
        charge(m, 1);
    }
    for (; count >= 0; count--) {
        const char *rest = match(m, s + count, end + 1);
        if (rest != NULL) return rest;
    }
    return NULL;
}

static const char *shortest_first(matcher *m, const char *s, const char *p, const char *end) {
    for (;;) {
        const char *rest = match(m, s, end + 1);
        if (rest != NULL) return rest;
        if (!item_matches(m, s, p, end)) return NULL;
        s++;
    }
}

static const char *open_capture(matcher *m, const char *s, const char *p, ptrdiff_t what) {
    if (m->level >= K0S_MAX_CAPTURES) luaL_error(m->L, "too many captures");
    m->capture[m->level].start = s;
    m->capture[m->level].length = what;
    m->level++;
    const char *rest = match(m, s, p);
    if (rest == NULL) m->level--;
    return rest;
}

static const char *close_capture(matcher *m, const char *s, const char *p) {
    int open = -1;
    for (int i = m->level - 1; i >= 0; i--) {
        if (m->capture[i].length == CAP_UNFINISHED) {
            open = i;
            break;
        }
    }
    if (open < 0) luaL_error(m->L, "invalid pattern capture");
    m->capture[open].length = s - m->capture[open].start;
    const char *rest = match(m, s, p);
    if (rest == NULL) m->capture[open].length = CAP_UNFINISHED;
    return rest;
}

static int capture_index(matcher *m, int digit) {
    int i = digit - '1';
    if (i < 0 || i >= m->level || m->capture[i].length == CAP_UNFINISHED) {
        luaL_error(m->L, "invalid capture index %%%d", i + 1);
    }
    return i;
}

static const char *back_reference(matcher *m, const char *s, int digit) {
    int i = capture_index(m, digit);
    size_t length = (size_t)m->capture[i].length;
    charge(m, length / 64);
    if ((size_t)(m->subject_end - s) >= length && memcmp(m->capture[i].start, s, length) == 0) return s + length;
    return NULL;
}

/* The end of the match of pattern p at s, or NULL. */
static const char *match(matcher *m, const char *s, const char *p) {
    if (m->depth_left-- == 0) luaL_error(m->L, "pattern too complex");
    while (p != m->pattern_end) {
        charge(m, 1);
        if (*p == '(') {
            s = p[1] == ')' ? open_capture(m, s, p + 2, CAP_POSITION) : open_capture(m, s, p + 1, CAP_UNFINISHED);
            goto done;
        }
        if (*p == ')') {
            s = close_capture(m, s, p + 1);
            goto done;
        }
        if (*p == '$' && p + 1 == m->pattern_end) {
            s = s == m->subject_end ? s : NULL;
            goto done;
        }
        if (*p == ESCAPE && p[1] == 'b') {
            s = balanced(m, s, p + 2);
            if (s == NULL) goto done;
            p += 4;
            continue;
        }
        if (*p == ESCAPE && p[1] == 'f') {
            p += 2;
            if (*p != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
            const compiled_set *set = compile_set(m, p);
            int before = s == m->subject ? '\0' : (unsigned char)s[-1];
            int at = s < m->subject_end ? (unsigned char)*s : '\0';
            if (set_has(set, before) || !set_has(set, at)) {
                s = NULL;
                goto done;
            }
            p = set->end;
            continue;
        }
        if (*p == ESCAPE && isdigit((unsigned char)p[1])) {
            s = back_reference(m, s, (unsigned char)p[1]);
            if (s == NULL) goto done;
            p += 2;
            continue;
        }
        const char *end = item_end(m, p);
        if (!item_matches(m, s, p, end)) {
            /* Zero repetitions are allowed: go on with the rest of the pattern. */
            if (*end == '*' || *end == '?' || *end == '-') {
                p = end + 1;
                continue;
            }
            s = NULL;
            goto done;
        }
        switch (*end) {
        case '?': {
            const char *rest = match(m, s + 1, end + 1);
            if (rest != NULL) {
                s = rest;
                goto done;
            }
            p = end + 1;
            continue;
        }
        case '+': s = longest_first(m, s + 1, p, end); goto done;
        case '*': s = longest_first(m, s, p, end); goto done;
        case '-': s = shortest_first(m, s, p, end); goto done;
        default:
            s++;
            p = end;
            continue;
        }
    }
done:
    m->depth_left++;
    return s;
}

/* ---- captures to Lua values ---- */

/* Capture i (0-based) as bytes, or pushes a position capture and returns CAP_POSITION. With no
   captures, capture 0 is the whole match s..e. */
static ptrdiff_t capture_bytes(matcher *m, int i, const char *s, const char *e, const char **bytes) {
    if (i >= m->level) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        *bytes = s;
        return e - s;
    }
    ptrdiff_t length = m->capture[i].length;
    *bytes = m->capture[i].start;
    if (length == CAP_UNFINISHED) luaL_error(m->L, "unfinished capture");
    if (length == CAP_POSITION) lua_pushinteger(m->L, (m->capture[i].start - m->subject) + 1);
    return length;
}

/* stack: → capture */
static void push_capture(matcher *m, int i, const char *s, const char *e) {
    const char *bytes;
    ptrdiff_t length = capture_bytes(m, i, s, e, &bytes);
    if (length != CAP_POSITION) lua_pushlstring(m->L, bytes, (size_t)length);
}

/* stack: → captures...; s == NULL pushes only real captures (string.find). */
static int push_captures(matcher *m, const char *s, const char *e) {
    int count = (m->level == 0 && s != NULL) ? 1 : m->level;
    luaL_checkstack(m->L, count, "too many captures");
    for (int i = 0; i < count; i++) push_capture(m, i, s, e);
    return count;
}

static int has_specials(const char *p, size_t lp) {
    for (size_t i = 0; i < lp; i++) {
        if (p[i] != '\0' && strchr(SPECIALS, p[i]) != NULL) return 1;
    }
    return 0;
}

/* Naive substring search, charged per comparison so a long needle cannot outlast the deadline. */
static const char *plain_find(matcher *m, const char *h, size_t lh, const char *n, size_t ln) {
    if (ln == 0) return h;
    if (ln > lh) return NULL;
    const char *last = h + (lh - ln);
    while (h <= last) {
        const char *candidate = memchr(h, *n, (size_t)(last - h) + 1);
        if (candidate == NULL) return NULL;
        charge(m, 1 + ln / 64);
        if (memcmp(candidate + 1, n + 1, ln - 1) == 0) return candidate;
        h = candidate + 1;
    }
    return NULL;
}

/* ---- the library functions ---- */

static int find_or_match(lua_State *L, int find) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t start = start_offset(luaL_optinteger(L, 3, 1), ls) - 1;
    if (start > ls) {
        luaL_pushfail(L);
        return 1;
    }
    matcher m;
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        setup(&m, L, s, ls, p, lp);
        const char *found = plain_find(&m, s + start, ls - start, p, lp);
        if (found != NULL) {
            lua_pushinteger(L, (found - s) + 1);
            lua_pushinteger(L, (lua_Integer)((found - s) + lp));
            return 2;
        }
        luaL_pushfail(L);
        return 1;
    }
    int anchored = *p == '^';
    if (anchored) {
        p++;
        lp--;
    }
    setup(&m, L, s, ls, p, lp);
    const char *from = s + start;
    do {
        reset(&m);
        const char *e = match(&m, from, p);
        if (e != NULL) {
            if (!find) return push_captures(&m, from, e);
            lua_pushinteger(L, (from - s) + 1);
            lua_pushinteger(L, e - s);
            return push_captures(&m, NULL, NULL) + 2;
        }
    } while (from++ < m.subject_end && !anchored);
    luaL_pushfail(L);
    return 1;
}

static int budgeted_find(lua_State *L) { return find_or_match(L, 1); }
static int budgeted_match(lua_State *L) { return find_or_match(L, 0); }

typedef struct gmatch_state {
    const char *next;        /* where the next search starts */
    const char *pattern;
    const char *last_match;  /* end of the previous match: an empty match there is skipped */
    matcher m;
} gmatch_state;

/* upvalues: subject, pattern, state */
static int gmatch_step(lua_State *L) {
    gmatch_state *g = (gmatch_state *)lua_touserdata(L, lua_upvalueindex(3));
    g->m.L = L;
    g->m.budget = k0s_budget_of(L);
    for (const char *from = g->next; from <= g->m.subject_end; from++) {
        reset(&g->m);
        const char *e = match(&g->m, from, g->pattern);
        if (e != NULL && e != g->last_match) {
            g->next = g->last_match = e;
            return push_captures(&g->m, from, e);
        }
    }
    return 0;
}

static int budgeted_gmatch(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t start = start_offset(luaL_optinteger(L, 3, 1), ls) - 1;
    lua_settop(L, 2);
    gmatch_state *g = (gmatch_state *)lua_newuserdatauv(L, sizeof(gmatch_state), 0);
    if (start > ls) start = ls + 1;
    setup(&g->m, L, s, ls, p, lp);
    g->next = s + start;
    g->pattern = p;
    g->last_match = NULL;
    lua_pushcclosure(L, gmatch_step, 3);
    return 1;
}

/* Appends the replacement string (argument 3) with %0-%9 and %% expanded. */
static void add_template(matcher *m, luaL_Buffer *b, const char *s, const char *e) {
    size_t length;
    const char *text = lua_tolstring(m->L, 3, &length);
    const char *percent;
    while ((percent = memchr(text, ESCAPE, length)) != NULL) {
        luaL_addlstring(b, text, (size_t)(percent - text));
        percent++;
        if (*percent == ESCAPE) {
            luaL_addchar(b, ESCAPE);
        } else if (*percent == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit((unsigned char)*percent)) {
            const char *bytes;
            ptrdiff_t n = capture_bytes(m, *percent - '1', s, e, &bytes);
            if (n == CAP_POSITION) luaL_addvalue(b);
            else luaL_addlstring(b, bytes, (size_t)n);
        } else {
            luaL_error(m->L, "invalid use of '%c' in replacement string", ESCAPE);
        }
        length -= (size_t)(percent + 1 - text);
        text = percent + 1;
    }
    luaL_addlstring(b, text, length);
}

/* Appends the replacement for s..e; returns whether anything was replaced. */
static int add_replacement(matcher *m, luaL_Buffer *b, const char *s, const char *e, int kind) {
    lua_State *L = m->L;
    if (kind == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (kind == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_template(m, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1)) return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int budgeted_gsub(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int kind = lua_type(L, 3);
    lua_Integer limit = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION || kind == LUA_TTABLE, 3,
                     "string/function/table");
    int anchored = *p == '^';
    if (anchored) {
        p++;
        lp--;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    matcher m;
    setup(&m, L, s, ls, p, lp);
    const char *last_match = NULL;
    lua_Integer count = 0;
    int changed = 0;
    while (count < limit) {
        reset(&m);
        const char *e = match(&m, s, p);
        if (e != NULL && e != last_match) {
            count++;
            changed = add_replacement(&m, &b, s, e, kind) | changed;
            s = last_match = e;
        } else if (s < m.subject_end) {
            luaL_addchar(&b, *s++);
        } else {
            break;
        }
        if (anchored) break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, s, (size_t)(m.subject_end - s));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, count);
    return 2;
}

void k0s_install_patterns(lua_State *L) {
    lua_pushcfunction(L, budgeted_find);
    lua_setfield(L, -2, "find");
    lua_pushcfunction(L, budgeted_match);
    lua_setfield(L, -2, "match");
    lua_pushcfunction(L, budgeted_gmatch);
    lua_setfield(L, -2, "gmatch");
    lua_pushcfunction(L, budgeted_gsub);
    lua_setfield(L, -2, "gsub");
}
