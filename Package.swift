// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "k0slua",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "k0slua", targets: ["k0slua"]),
        .library(name: "K0sLuaKit", targets: ["K0sLuaKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", exact: "1.0.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", exact: "2.0.1"),
    ],
    targets: [
        // liblua5.4 as the system provides it. CLuaShim refuses any other Lua version at compile time.
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"]), .brew(["lua@5.4"])]
        ),
        // Owns every path that can raise a Lua error (longjmp never crosses Swift frames).
        .target(name: "CLuaShim", dependencies: ["CLua"]),
        .target(
            name: "K0sLuaKit",
            dependencies: [
                "CLuaShim", "CLua",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            // The k0s, drill and hook host modules' Lua sources (PackageResources.k0s_lua, .drill_lua, .hooks_lua) and the
            // LoadBalancer controller k0slua installs on controllers (PackageResources.lb_controller_py), compiled in as bytes.
            resources: [.embedInCode("Lua/Resources/k0s.lua"), .embedInCode("Drill/Resources/drill.lua"),
                        .embedInCode("Orchestrate/Bootstrap/Resources/hooks.lua"), .embedInCode("Orchestrate/LoadBalancer/Resources/lb_controller.py")]
        ),
        .target(
            name: "K0sLuaCLI",
            dependencies: [
                "K0sLuaKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "k0slua", dependencies: ["K0sLuaCLI"]),
        .testTarget(
            name: "K0sLuaKitTests",
            dependencies: [
                "K0sLuaKit", "K0sLuaCLI", "CLua",
                .product(name: "Yams", package: "Yams"),
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                // CLITests walks the command tree's configurations.
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // OutputLinesTests compares k0slua's line splitting with Subprocess's own.
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            // Read through #filePath by the golden-file tests, never bundled.
            exclude: ["Fixtures", "Snapshots"]
        ),
    ]
)
