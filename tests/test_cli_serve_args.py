"""`workbench serve` refuses a port or address it cannot listen on in one line, exit 2, before starting a server
(``panel serve`` itself exits 1 with an empty "ERROR:")."""

from __future__ import annotations

import socket

from cli_runner import invoke


def test_a_port_out_of_range_or_in_use_and_a_foreign_address_are_refused(capsys, tmp_path):
    db = str(tmp_path / "w.duckdb")
    code, out, err = invoke(capsys, None, "serve", "--db", db, "--port", "99999")
    assert code == 2 and "column port, value 99999: a port is a number from 1 to 65535" in err and "Traceback" not in err

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = invoke(capsys, None, "serve", "--db", db, "--port", str(port))
    assert code == 2 and f"port {port} on 127.0.0.1 is already in use" in err and "dashboard:" not in out

    code, out, err = invoke(capsys, None, "serve", "--db", db, "--address", "192.0.2.1", "--port", str(port))
    assert code == 2 and "column address, value '192.0.2.1': cannot listen on 192.0.2.1" in err
