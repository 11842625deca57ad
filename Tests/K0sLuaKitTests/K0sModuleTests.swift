import Foundation
import K0sLuaKit
import Testing

/// The host module `k0s`: environment readers, IPv4 helpers, host facts.
@Suite struct K0sModuleTests {
    func evaluate(_ expression: String, environment: [String: String] = [:]) throws(DiagnosticList) -> LuaValue {
        let runtime = try LuaRuntime(environment: environment, libraryDirectory: Repo.lib, hostFacts: fixedHost)
        return try runtime.evaluate(source: Data("local k0s = require 'k0s'\nlocal value = \(expression)\nreturn value\n".utf8), displayName: "cluster.lua")
    }

    func error(_ expression: String, environment: [String: String] = [:]) -> Diagnostic? {
        do { _ = try evaluate(expression, environment: environment); return nil } catch { return error.diagnostics.first }
    }

    @Test func integerReader() throws {
        #expect(try evaluate("k0s.env.integer('worker_count', 1)") == .integer(1))
        #expect(try evaluate("k0s.env.integer('worker_count', 1)", environment: ["worker_count": "3"]) == .integer(3))
        #expect(try evaluate("k0s.env.integer('worker_count', 1)", environment: ["worker_count": " 7 "]) == .integer(7))
        #expect(try evaluate("k0s.env.integer('worker_count', 1)", environment: ["worker_count": ""]) == .integer(1))
    }

    @Test(arguments: [
        (["worker_count": "two"], "k0s.env.integer('worker_count', 1)", "environment variable worker_count: expected an integer, got \"two\""),
        (["worker_count": "1.5"], "k0s.env.integer('worker_count', 1)", "environment variable worker_count: expected an integer, got \"1.5\""),
        (["worker_count": "0x10"], "k0s.env.integer('worker_count', 1)", "environment variable worker_count: expected an integer, got \"0x10\""),
        (["worker_count": "99999999999999999999"], "k0s.env.integer('worker_count', 1)", "environment variable worker_count: expected an integer, got \"99999999999999999999\""),
        (["worker_count": "-1"], "k0s.env.integer('worker_count', 1, { min = 0 })", "environment variable worker_count: -1 is below the minimum 0"),
        (["worker_count": "500"], "k0s.env.integer('worker_count', 1, { max = 200 })", "environment variable worker_count: 500 is above the maximum 200"),
        (["debug": "maybe"], "k0s.env.boolean('debug', false)", "environment variable debug: expected true or false (also yes/no, on/off, 1/0), got \"maybe\""),
        (["vagrant_provider": "vbox"], "k0s.env.one_of('vagrant_provider', 'tart', {'tart', 'libvirt', 'hosts'})",
         "environment variable vagrant_provider: expected one of \"tart\", \"libvirt\", \"hosts\", got \"vbox\""),
    ])
    func readerErrorsNameTheVariableAndTheValue(environment: [String: String], expression: String, message: String) throws {
        let problem = try #require(error(expression, environment: environment))
        #expect(problem.code == .runtimeError)
        #expect(problem.message == message)
        #expect(problem.line == 2, "blamed on the caller's line")
    }

    @Test func otherReaders() throws {
        #expect(try evaluate("k0s.env.boolean('x', false)", environment: ["x": "YES"]) == .boolean(true))
        #expect(try evaluate("k0s.env.boolean('x', true)", environment: ["x": "off"]) == .boolean(false))
        #expect(try evaluate("k0s.env.string('x', 'd')") == .string("d"))
        #expect(try evaluate("k0s.env.one_of('p', 'tart', {'tart', 'libvirt'})", environment: ["p": "libvirt"]) == .string("libvirt"))
    }

    @Test func ipv4Helpers() throws {
        #expect(try evaluate("k0s.ipv4.add('192.168.64.10', 2)") == .string("192.168.64.12"))
        #expect(try evaluate("k0s.ipv4.add('192.168.64.255', 1)") == .string("192.168.65.0"))
        #expect(try evaluate("k0s.ipv4.contains('192.168.64.0/24', '192.168.64.200')") == .boolean(true))
        #expect(try evaluate("k0s.ipv4.contains('192.168.64.0/24', '192.168.65.1')") == .boolean(false))
        #expect(try evaluate("k0s.ipv4.host('10.0.0.0/8', 5)") == .string("10.0.0.5"))
        #expect(try evaluate("k0s.ipv4.network('192.168.64.0/24').broadcast") == .string("192.168.64.255"))
        #expect(try evaluate("k0s.ipv4.network('192.168.64.7/24').network") == .string("192.168.64.0"))
        #expect(error("k0s.ipv4.add('192.168.64.300', 1)")?.message == "k0s.ipv4.add: \"192.168.64.300\" is not an IPv4 address")
        #expect(error("k0s.ipv4.add('255.255.255.255', 1)")?.line == 2)
        #expect(error("k0s.ipv4.contains('192.168.64.0/33', '1.2.3.4')") != nil)
    }

    @Test func hostFactsAreReadOnly() throws {
        #expect(try evaluate("k0s.host.cpus") == .integer(8))
        #expect(try evaluate("k0s.host.memory_mb") == .integer(16384))
        #expect(try evaluate("k0s.host.os") == .string("macos"))
        #expect(error("k0s.host.nope")?.message == "k0s.host has no field \"nope\"")
        #expect(error("(function() k0s.env = nil end)()")?.message == "k0s is read-only")
    }

    @Test func requireFindsLibModulesOnce() throws {
        #expect(try evaluate("require('k0slua.nodes') == require('k0slua.nodes')") == .boolean(true))
        #expect(try evaluate("require('k0slua.taints').workload_controller_count(7)") == .integer(2))
    }
}
