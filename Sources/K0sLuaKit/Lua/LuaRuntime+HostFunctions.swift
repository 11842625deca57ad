import CLua
import CLuaShim
import Foundation

/// Swift functions callable from Lua, through the shim's trampoline.
extension LuaRuntime {
    /// stack: → closure
    func pushHostFunction(_ body: @escaping LuaHostFunction) {
        hostFunctions.append(body)
        lua_pushlightuserdata(state, Unmanaged.passUnretained(self).toOpaque())
        lua_pushinteger(state, lua_Integer(hostFunctions.count - 1))
        k0s_push_host_function(state, luaRuntimeDispatch, 2)
    }

    func dispatch(_ L: OpaquePointer) -> Int32 {
        // Arguments and results live on the calling thread's stack, which is a coroutine's when
        // a drill calls (snapshot and push work on `state`).
        let main = state
        state = L
        defer { state = main }
        let index = Int(lua_tointegerx(L, k0s_upvalueindex(3), nil))
        let count = lua_gettop(L)
        var arguments: [LuaValue] = []
        for position in stride(from: 1, through: count, by: 1) {
            do {
                arguments.append(try snapshot(at: position, path: "argument #\(position)", depth: 0, seen: []))
            } catch {
                // The trampoline puts the caller's position in front.
                let message = error.diagnostics.first.map { $0.path.isEmpty ? $0.message : "\($0.path): \($0.message)" }
                    ?? "bad argument #\(position)"
                return raise(L, message)
            }
        }
        do {
            let results = try hostFunctions[index](arguments)
            for result in results { push(result) }
            return Int32(results.count)
        } catch {
            return raise(L, error.message)
        }
    }

    func raise(_ L: OpaquePointer, _ message: String) -> Int32 {
        push(.string(message))
        return K0S_RAISE
    }

}

private func luaRuntimeDispatch(_ L: OpaquePointer?) -> Int32 {
    guard let L, let raw = lua_touserdata(L, k0s_upvalueindex(2)) else { return 0 }
    return Unmanaged<LuaRuntime>.fromOpaque(raw).takeUnretainedValue().dispatch(L)
}
