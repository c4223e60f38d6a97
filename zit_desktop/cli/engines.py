"""``zit-desktop engines list|add|test|remove``: the ComfyUI servers the app can send jobs to.

Secrets never go on the command line (where shell history and ``ps`` would show them): ``add``
reads a token or password from an environment variable (``--token-env``/``--password-env``) or asks
for it when a terminal is attached, and keeps it in the OS keyring.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from zit_desktop.cli.common import Exit, error, note
from zit_desktop.core import paths as paths_mod
from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.settings import load_settings, save_settings


def add_engines_command(subparsers: Any) -> None:
    engines = subparsers.add_parser("engines", help="list, add, test or remove remote ComfyUI engines")
    sub = engines.add_subparsers(dest="engines_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="the engines and which one is in use")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(handler=cmd_list)
    p = sub.add_parser("add", help="add (or replace) a ComfyUI server")
    p.add_argument("name", help="a short name, e.g. studio")
    p.add_argument("url", help="the server address, e.g. http://192.168.1.20:8188 or https://gpu.example.org")
    auth = p.add_mutually_exclusive_group()
    auth.add_argument("--token-env", metavar="VAR", help="read a Bearer token from this environment variable")
    auth.add_argument("--token", action="store_true", help="ask for a Bearer token (typed, not shown)")
    auth.add_argument("--user", metavar="NAME", help="Basic sign-in user name (the password is asked for)")
    p.add_argument("--password-env", metavar="VAR", help="with --user: read the password from this variable")
    p.add_argument("--ca-file", metavar="FILE", help="the CA certificate of a server with its own certificate")
    p.add_argument("--use", action="store_true", help="make it the engine in use")
    p.set_defaults(handler=cmd_add)
    p = sub.add_parser("test", help="connect and check version, device, nodes and model files")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(handler=cmd_test)
    p = sub.add_parser("remove", help="forget a server and its credentials")
    p.add_argument("name")
    p.set_defaults(handler=cmd_remove)
    p = sub.add_parser("use", help="where images are made: local, an engine's name, or pool")
    p.add_argument("name")
    p.set_defaults(handler=cmd_use)


def _settings(args: argparse.Namespace) -> tuple[paths_mod.AppPaths, Any]:
    app = paths_mod.app_paths(args.data_dir).ensure()
    return app, load_settings(app.settings_file)


def cmd_list(args: argparse.Namespace) -> int:
    from zit_desktop.core.remote.config import engines_of

    _, settings = _settings(args)
    engines = [e.to_dict() for e in engines_of(settings)]
    if args.json:
        print(json.dumps({"in_use": settings.engine, "engines": engines}, ensure_ascii=False))
        return Exit.OK
    print(f"{'*' if settings.engine == 'local' else ' '} local  (this computer)")
    for e in engines:
        sign_in = f", {e['auth']} sign-in" if e["auth"] else ""
        print(f"{'*' if settings.engine == e['name'] else ' '} {e['name']}  {e['url']}{sign_in}")
    if engines:
        print(f"{'*' if settings.engine == 'pool' else ' '} pool  (all of the above"
              f"{' and this computer' if settings.pool_includes_local else ''})")
    return Exit.OK


def _secret(args: argparse.Namespace) -> str:
    var = args.token_env or args.password_env
    if var:
        value = os.environ.get(var, "")
        if not value:
            raise AppError(ErrorKind.BAD_INPUT,
                           f"The environment variable {var} is empty or not set.")
        return value
    if not sys.stdin.isatty():
        raise AppError(ErrorKind.BAD_INPUT,
                       "No terminal to ask for the secret: pass --token-env VAR or --password-env VAR.")
    return getpass.getpass("Token: " if args.token else f"Password for {args.user}: ")


def cmd_add(args: argparse.Namespace) -> int:
    from zit_desktop.core.remote.config import RemoteEngineConfig, add_engine, engines_of
    from zit_desktop.core.remote.secrets import store_secret

    app, settings = _settings(args)
    auth = "bearer" if (args.token or args.token_env) else "basic" if args.user else ""
    config = RemoteEngineConfig(args.name, args.url.rstrip("/"), auth=auth, username=args.user or "",
                                ca_file=os.path.abspath(args.ca_file) if args.ca_file else "")
    replaced = any(e.name.lower() == config.name.lower() for e in engines_of(settings))
    try:
        add_engine(settings, config)
        secret = _secret(args) if auth else ""
    except AppError as exc:
        error(str(exc))
        return Exit.USAGE
    if args.use:
        settings.engine = config.name
    save_settings(app.settings_file, settings)
    if auth and not store_secret(config.name, secret):
        note("this computer has no keyring, so the secret is not kept: the window asks for it when it starts, "
             "and each CLI run needs --token-env/--password-env again")
    print(f"{'replaced' if replaced else 'added'} {config.name} ({config.url}); check it with: zit-desktop engines test {config.name}")
    return Exit.OK


def cmd_test(args: argparse.Namespace) -> int:
    from zit_desktop.core.remote.config import find_engine
    from zit_desktop.core.remote.engine import ComfyEngine

    app, settings = _settings(args)
    config = find_engine(settings, args.name)
    if config is None:
        error(f"there is no engine called {args.name!r}; see zit-desktop engines list")
        return Exit.USAGE
    try:
        ready = ComfyEngine(app, config, timeout=10).check()
    except AppError as exc:
        if args.json:
            print(json.dumps({"name": config.name, "ok": False, "message": str(exc)}, ensure_ascii=False))
        error(str(exc))
        return Exit.FAILED
    if args.json:
        print(json.dumps({"name": config.name, **ready.to_dict()}, ensure_ascii=False))
    else:
        vram = f", {ready.vram_total / 2**30:.1f} GiB" if ready.vram_total else ""
        print(f"{config.name}: ComfyUI {ready.version or '?'} on {ready.device or '?'}{vram}")
        print(f"  {ready.message}")
        if ready.models:
            print(f"  model {ready.models.unet}, text encoder {ready.models.clip}, VAE {ready.models.vae}")
    return Exit.OK if ready.ok else Exit.FAILED


def cmd_remove(args: argparse.Namespace) -> int:
    from zit_desktop.core.remote.config import remove_engine
    from zit_desktop.core.remote.secrets import delete_secret

    app, settings = _settings(args)
    if not remove_engine(settings, args.name):
        error(f"there is no engine called {args.name!r}; see zit-desktop engines list")
        return Exit.USAGE
    save_settings(app.settings_file, settings)
    delete_secret(args.name)
    print(f"removed {args.name}")
    return Exit.OK


def cmd_use(args: argparse.Namespace) -> int:
    from zit_desktop.core.remote.factory import engine_names

    app, settings = _settings(args)
    names = {n.lower(): n for n in engine_names(settings)}
    if args.name.lower() not in names:
        error(f"there is no engine called {args.name!r}; known: {', '.join(names.values())}")
        return Exit.USAGE
    settings.engine = names[args.name.lower()]
    save_settings(app.settings_file, settings)
    print(f"images are now made on: {settings.engine}")
    return Exit.OK
