"""HILT's added time per call, measured call by call on a noisy machine.

    python benchmarks/alternate.py                 # workloads A and B
    python benchmarks/alternate.py --workloads A --calls 4000

The OpenAI plugin on the openai SDK and an in-process endpoint (``_mock.py``: no socket,
so only the SDK's and HILT's work is timed): A is one ``chat.completions.create``, B one
stream of 21 chunks, consumed fully. Calls alternate, in random order within each pair,
between HILT recording and HILT switched off for that call, in one process: two calls a
millisecond apart see the same machine, so the median of the paired differences is steady
where separate runs are not. The method and its columns (the paired difference, the
writer thread's CPU and the app's garbage collection per recorded call, the plain call's
median, the log check) are ``_method.py``'s.
"""

from __future__ import annotations

from _method import Workload, main


def workload(name: str) -> Workload:
    import _mock
    import openai

    client = openai.OpenAI(
        api_key="k",
        base_url="http://bench.invalid/v1",
        http_client=openai.DefaultHttpxClient(transport=_mock.transport()),
    )

    def one(i: int) -> None:
        msgs = [
            {"role": "system", "content": "You are a benchmark."},
            {"role": "user", "content": f"Say something short, please. q-{name}{i}"},
        ]
        if name == "B":
            stream = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=msgs,
                stream=True,
                stream_options={"include_usage": True},
            )
            assert sum(1 for _ in stream) == 21
        else:
            r = client.chat.completions.create(model="gpt-4o-mini", messages=msgs)
            assert r.choices[0].message.content.endswith(f"q-{name}{i}")

    return Workload(one)


if __name__ == "__main__":
    raise SystemExit(main(__doc__, workload))
