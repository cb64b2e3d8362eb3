# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Start the tools the way users do (a subprocess, torchrun) and, when they
fail, show why: the tail of their output goes into the test failure."""
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import List, Optional

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def free_port() -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def subprocess_env(**extra: str) -> dict:
    """The environment for a tool: one intra-op thread per process (several
    multi-threaded processes on two cores slow each other down many times),
    this interpreter's ``bin`` first on ``PATH``, so that scripts that call
    ``python`` get the test's environment, and Python's fault handler on."""
    return dict(
        os.environ,
        OMP_NUM_THREADS='1',
        # a crash (e.g. SIGABRT) prints the Python stack of every thread
        PYTHONFAULTHANDLER='1',
        PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'],
        **extra)


def run_logged(cmd: List[str],
               log_path: str,
               env: Optional[dict] = None,
               timeout: float = 600) -> str:
    """Run ``cmd`` from the repository root with stdout and stderr in
    ``log_path``; fail the test with the log's tail if it exits non-zero.

    Returns:
        str: The whole log.
    """
    with open(log_path, 'w') as log:
        proc = subprocess.run(
            cmd,
            cwd=REPO_ROOT,
            env=env or subprocess_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=timeout)
    with open(log_path) as log:
        output = log.read()
    if proc.returncode != 0:
        pytest.fail(
            f'{" ".join(cmd)}\nexited with {proc.returncode}; the end of '
            f'its output:\n{output[-6000:]}',
            pytrace=False)
    return output


def torchrun(nproc: int) -> List[str]:
    """The start of a ``torchrun`` command line on a free port."""
    return [
        sys.executable, '-m', 'torch.distributed.run',
        f'--nproc_per_node={nproc}', f'--master_port={free_port()}'
    ]
