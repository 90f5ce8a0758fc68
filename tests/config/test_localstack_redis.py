"""config.localstack.start_redis: a port another redis-server took is an error, not a shared queue."""
import pytest

from config.localstack import free_port, start_redis


def test_a_second_redis_on_a_taken_port_is_refused(tmp_path):
    port = free_port(6500)
    first = start_redis(port=port, data_dir=tmp_path / "a")
    try:
        with pytest.raises(RuntimeError, match=f"port {port} was taken"):
            start_redis(port=port, data_dir=tmp_path / "b")
        assert first.poll() is None  # the first one still serves
    finally:
        first.terminate()
        first.wait(timeout=10)
