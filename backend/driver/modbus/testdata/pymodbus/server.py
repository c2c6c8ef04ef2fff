#!/usr/bin/python3
"""A Modbus TCP server for edgehmi's driver integration tests, on pymodbus.

pymodbus is Debian's python3-pymodbus (3.0.0rc1 on Debian 12); run this with
Debian's own interpreter, /usr/bin/python3, which is where that package
installs.

Usage:
    /usr/bin/python3 server.py --check
        Import everything the server needs, print the pymodbus version and
        exit 0 (exit 1 with the reason on stderr if that fails).
    /usr/bin/python3 server.py PORT MAP.json
        Serve MAP.json on 127.0.0.1:PORT (PORT 0 picks a free port). Prints
        "ready <port>" on stdout once listening. Exits on SIGTERM or SIGINT,
        and when stdin reaches end of file (so a test that dies without
        cleaning up does not leave the server behind).

MAP.json defines every unit (slave context) and every element the server
has, with 0-based protocol addresses as keys:

    {"units": {"1": {"co": {"0": true, "1": false},
                     "di": {"0": true},
                     "ir": {"0": 65535, "1": 7},
                     "hr": {"0": 1234}},
               "2": {...}}}

Each table is a pymodbus ModbusSparseDataBlock holding exactly the addresses
listed, and each slave context runs with zero_mode=True (so key N is
protocol address N; pymodbus otherwise adds 1 to every address). A request
that touches any address not listed, in a read or in a write, is answered
with exception 2 (illegal data address). Tables left out are empty.
Registers are 0..65535, coils and discrete inputs true/false. Writes change
the map in memory only.

pymodbus 3.0.0rc1 quirks this script works around or documents:
  - pymodbus.server imports pyserial and pyserial-asyncio at import time
    even for TCP, but the Debian package only recommends them
    (python3-serial-asyncio). If they are missing, empty stand-ins are put in
    sys.modules: a TCP server never uses them.
  - A request for a unit id that is not in the map gets no answer at all
    (the framer drops it), not exception 11 (gateway target failed): the
    client sees a timeout.
"""

import asyncio
import json
import logging
import signal
import sys
import threading
import types


def import_pymodbus():
    """Import pymodbus' TCP server pieces, standing in for pyserial if absent."""
    try:
        import serial  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
        import serial_asyncio  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    except ImportError:
        serial = types.ModuleType("serial")
        serial.serialutil = types.SimpleNamespace(SerialException=OSError)
        serial.SerialException = OSError
        serial_asyncio = types.ModuleType("serial_asyncio")

        async def create_serial_connection(*_args, **_kwargs):
            raise OSError("pyserial-asyncio is not installed")

        serial_asyncio.create_serial_connection = create_serial_connection
        sys.modules.setdefault("serial", serial)
        sys.modules.setdefault("serial_asyncio", serial_asyncio)

    # pylint: disable=import-outside-toplevel
    import pymodbus
    from pymodbus.datastore import (
        ModbusServerContext,
        ModbusSlaveContext,
        ModbusSparseDataBlock,
    )
    from pymodbus.server.async_io import ModbusTcpServer
    from pymodbus.transaction import ModbusSocketFramer

    return types.SimpleNamespace(
        version=pymodbus.__version__,
        ModbusServerContext=ModbusServerContext,
        ModbusSlaveContext=ModbusSlaveContext,
        ModbusSparseDataBlock=ModbusSparseDataBlock,
        ModbusTcpServer=ModbusTcpServer,
        ModbusSocketFramer=ModbusSocketFramer,
    )


def build_context(pm, spec):
    """Build the server context: one sparse slave context per unit."""
    slaves = {}
    for unit, tables in spec.get("units", {}).items():
        blocks = {}
        for name in ("co", "di", "ir", "hr"):
            raw = tables.get(name) or {}
            values = {}
            for addr, val in raw.items():
                a = int(addr)
                if not 0 <= a <= 65535:
                    raise ValueError(f"unit {unit} {name}: address {a} out of range")
                if name in ("co", "di"):
                    values[a] = bool(val)
                else:
                    v = int(val)
                    if not 0 <= v <= 65535:
                        raise ValueError(f"unit {unit} {name}{a}: value {v} out of range")
                    values[a] = v
            # mutable=False: a write to an address outside the map must not
            # grow the block (the request's validate() refuses it anyway).
            blocks[name] = pm.ModbusSparseDataBlock(values, mutable=False)
        slaves[int(unit)] = pm.ModbusSlaveContext(
            co=blocks["co"], di=blocks["di"], ir=blocks["ir"], hr=blocks["hr"], zero_mode=True
        )
    return pm.ModbusServerContext(slaves=slaves, single=False)


async def serve(pm, port, context):
    """Serve until SIGTERM/SIGINT or end of stdin."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()

    server = pm.ModbusTcpServer(
        context,
        framer=pm.ModbusSocketFramer,
        address=("127.0.0.1", port),
        allow_reuse_address=True,  # restart on the same port while old sockets sit in TIME_WAIT
    )
    task = asyncio.create_task(server.serve_forever())
    done, _ = await asyncio.wait({task, server.serving}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:  # serve_forever ended before listening: bind failed
        task.result()
        raise RuntimeError("server stopped before listening")
    bound = server.server.sockets[0].getsockname()[1]
    print(f"ready {bound}", flush=True)
    await stop.wait()
    await server.shutdown()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


def main(argv):
    """Entry point."""
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    try:
        pm = import_pymodbus()
    except Exception as exc:  # pylint: disable=broad-except
        print(f"cannot import pymodbus with {sys.executable}: {exc!r}", file=sys.stderr)
        return 1
    if len(argv) == 2 and argv[1] == "--check":
        print(f"pymodbus {pm.version}")
        return 0
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    port = int(argv[1])
    with open(argv[2], encoding="utf-8") as f:
        context = build_context(pm, json.load(f))
    asyncio.run(serve(pm, port, context))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
