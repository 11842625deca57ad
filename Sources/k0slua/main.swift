import K0sLuaCLI

await K0sLuaCommand.runAsRoot()
