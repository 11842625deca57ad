#!/usr/bin/env python3
"""The e2e's `k0s kubectl` for k0slua's LoadBalancer controller (docs/services.md): answers from JSON
fixtures in this file's directory instead of a Kubernetes API, which no e2e VM runs.

  get services|nodes|endpointslices.discovery.k8s.io|pods … -o json   prints <kind>.json
  patch service --namespace NS --subresource=status --type=merge --patch P -- NAME
                  merges P's status into that service in services.json (null removes), logs it in patches.log
  create -f -     an Event on stdin, appended to events.log (AlreadyExists for a name seen before)

The Tests/StandIns/mirror/layout.py e2e k0s stand-in hands `k0s kubectl …` here."""
import json
import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
FILES = {"services": "services", "nodes": "nodes", "endpointslices.discovery.k8s.io": "endpointslices", "pods": "pods"}


def merge(target, patch):
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = value


def main(args):
    if args[:1] == ["get"] and args[1:2] and args[1] in FILES:
        with open(os.path.join(HERE, FILES[args[1]] + ".json")) as f:
            sys.stdout.write(f.read())
        return 0
    if args[:2] == ["patch", "service"] and "--" in args:
        namespace = args[args.index("--namespace") + 1]
        patch = json.loads(args[args.index("--patch") + 1])
        name = args[args.index("--") + 1]
        path = os.path.join(HERE, "services.json")
        document = json.load(open(path))
        for item in document["items"]:
            if item["metadata"]["name"] == name and item["metadata"].get("namespace", "default") == namespace:
                merge(item, patch)
                break
        else:
            print(f'Error from server (NotFound): services "{name}" not found', file=sys.stderr)
            return 1
        with open(path + ".new", "w") as f:
            json.dump(document, f)
        os.replace(path + ".new", path)
        with open(os.path.join(HERE, "patches.log"), "a") as f:
            f.write(f"{namespace}/{name} {json.dumps(patch, separators=(',', ':'))}\n")
        print(f"service/{name} patched")
        return 0
    if args[:3] == ["create", "-f", "-"]:
        event = json.load(sys.stdin)
        log = os.path.join(HERE, "events.log")
        seen = [json.loads(line)["metadata"]["name"] for line in open(log)] if os.path.exists(log) else []
        if event["metadata"]["name"] in seen:
            print(f'Error from server (AlreadyExists): events "{event["metadata"]["name"]}" already exists', file=sys.stderr)
            return 1
        with open(log, "a") as f:
            f.write(json.dumps(event) + "\n")
        print(f"event/{event['metadata']['name']} created")
        return 0
    print(f"e2e k0s kubectl: not answered: {' '.join(args)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
