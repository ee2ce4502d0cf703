"""Virtual devices that speak the real transports (pty, TCP, Modbus), for `wes simulate` and the demo."""
