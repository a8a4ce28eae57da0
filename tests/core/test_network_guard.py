import socket

import pytest


def test_a_test_that_reaches_beyond_loopback_fails() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(OSError, match=r"beyond 127\.0\.0\.1"):
        s.connect(("93.184.216.34", 80))
    s.close()


def test_loopback_is_allowed() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    c = socket.socket()
    c.connect(srv.getsockname())
    c.close()
    srv.close()
