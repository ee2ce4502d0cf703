"""A real pymodbus TCP server in a background thread, standing in for light modules.

ModbusLights talks to it exactly as to a PLC or Modbus light controller; tests
and the demo read the registers it holds and write button codes into it.
"""

from __future__ import annotations

import asyncio
import threading

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

READ_HOLDING = 3
WRITE_HOLDING = 16


class ModbusLightsServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, unit_ids: tuple[int, ...] = (1,), size: int = 200):
        # The loop lives entirely in its own thread: the caller's thread may already run an event
        # loop (Playwright's sync API does), and run_until_complete would refuse there.
        self._loop = asyncio.new_event_loop()
        devices = [
            SimDevice(id=unit, simdata=[SimData(address=0, count=size, values=0, datatype=DataType.REGISTERS)])
            for unit in unit_ids
        ]
        self._thread = threading.Thread(target=self._loop.run_forever, name="modbus-server", daemon=True)
        self._thread.start()
        self._server: ModbusTcpServer = self._run(self._start(devices, host, port))
        self.host, self.port = self._server.transport.sockets[0].getsockname()[:2]

    @staticmethod
    async def _start(devices: list[SimDevice], host: str, port: int) -> ModbusTcpServer:
        server = ModbusTcpServer(devices, address=(host, port))
        await server.serve_forever(background=True)
        return server

    def read_holding(self, unit: int, address: int, count: int = 1) -> list[int]:
        return list(self._run(self._server.context.async_getValues(unit, READ_HOLDING, address, count)))

    def write_holding(self, unit: int, address: int, values: list[int]) -> None:
        self._run(self._server.context.async_setValues(unit, WRITE_HOLDING, address, values))

    def stop(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self._server.shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(2.0)
        self._loop.close()

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=5)

    def __enter__(self) -> ModbusLightsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
