#!/usr/bin/env python3
"""End-to-end tests of `est`, estoria's command-line tool, run as a subprocess.

Usage: est_cli_test.py PATH_TO_EST [unittest arguments, e.g. EstCli.test_X]
Each test works in its own temporary directory. Standard library only.
"""
import base64
import hashlib
import json
import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import time
import unittest

EST = None  # set from argv in main

EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CORRUPTION, EXIT_BUSY, EXIT_CONFLICT, EXIT_UNSUPPORTED = 2, 3, 4, 5, 6, 7


def run(*args, stdin=None, timeout=120):
    return subprocess.run([EST, *args], input=stdin, capture_output=True, timeout=timeout)


def tree_digest(path):
    """A digest of every file name and byte under path (the store's state)."""
    h = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            h.update(os.path.relpath(full, path).encode())
            with open(full, 'rb') as f:
                h.update(f.read())
    return h.hexdigest()


# A writer in another process that holds the store open for as long as its
# stdin stays open: the C ABI through ctypes on libestoria. It prints "open"
# once the store is open, then, for each line "append STREAM TYPE DATA",
# appends one event and prints "appended POSITION" (or "error STATUS").
WRITER = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
P = ctypes.c_void_p
lib.est_store_open.argtypes = [ctypes.c_char_p, P, ctypes.POINTER(P)]
lib.est_store_close.argtypes = [P]
lib.est_store_close.restype = None
lib.est_batch_new.argtypes = [ctypes.POINTER(P)]
lib.est_batch_add.argtypes = [P, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
lib.est_batch_free.argtypes = [P]
lib.est_batch_free.restype = None
class Result(ctypes.Structure):
    _fields_ = [('struct_size', ctypes.c_uint32), ('first_version', ctypes.c_int64),
                ('last_version', ctypes.c_int64), ('first_position', ctypes.c_int64),
                ('last_position', ctypes.c_int64), ('actual_version', ctypes.c_int64)]
lib.est_append_batch.argtypes = [P, ctypes.c_char_p, P, P, ctypes.POINTER(Result), P]
store = P()
st = lib.est_store_open(sys.argv[2].encode(), None, ctypes.byref(store))
if st != 0:
    print('error', st, flush=True)
    sys.exit(1)
print('open', flush=True)
for line in sys.stdin:
    _, stream, etype, data = line.split()
    batch = P()
    st = lib.est_batch_new(ctypes.byref(batch))
    if st == 0:
        st = lib.est_batch_add(batch, etype.encode(), data.encode(), len(data), None)
    result = Result(ctypes.sizeof(Result), 0, 0, 0, 0, 0)
    if st == 0:
        st = lib.est_append_batch(store, stream.encode(), batch, None, ctypes.byref(result), None)
    lib.est_batch_free(batch)
    print(f'appended {result.last_position}' if st == 0 else f'error {st}', flush=True)
lib.est_store_close(store)
"""


def libestoria():
    """The path of the libestoria that est runs with (ESTORIA_LIB, as
    tests/cli/CMakeLists.txt sets it, or what ldd says est loads)."""
    lib = os.environ.get('ESTORIA_LIB')
    if lib:
        return lib
    out = subprocess.run(['ldd', EST], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if 'libestoria' in line and '=>' in line:
            return line.split('=>')[1].split()[0]
    raise RuntimeError('cannot find libestoria: set ESTORIA_LIB')


def sanitizer_preload(lib):
    """The sanitizer runtimes a sanitized libestoria needs loaded first in an
    uninstrumented python (empty for a plain build)."""
    out = subprocess.run(['ldd', lib], capture_output=True, text=True).stdout
    found = []
    for name in ('libasan', 'libubsan'):
        for line in out.splitlines():
            if name in line and '=>' in line:
                found.append(line.split('=>')[1].split()[0])
    return found


# Saves projection checkpoints through the C ABI (est_checkpoint_save): the
# arguments after the library and the store URI are ID=POSITION pairs.
SAVE_CHECKPOINTS = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
P = ctypes.c_void_p
lib.est_store_open.argtypes = [ctypes.c_char_p, P, ctypes.POINTER(P)]
lib.est_store_close.argtypes = [P]
lib.est_store_close.restype = None
lib.est_checkpoint_save.argtypes = [P, ctypes.c_char_p, ctypes.c_int64]
store = P()
if lib.est_store_open(sys.argv[2].encode(), None, ctypes.byref(store)) != 0:
    sys.exit(1)
for pair in sys.argv[3:]:
    pid, pos = pair.split('=')
    if lib.est_checkpoint_save(store, pid.encode(), int(pos)) != 0:
        sys.exit(2)
lib.est_store_close(store)
"""


def save_checkpoints(store_uri, **positions):
    lib = libestoria()
    env = dict(os.environ)
    preload = sanitizer_preload(lib)
    if preload:
        env['LD_PRELOAD'] = ':'.join(preload)
        env['ASAN_OPTIONS'] = 'detect_leaks=0'
    pairs = [f'{k}={v}' for k, v in positions.items()]
    subprocess.run([sys.executable, '-c', SAVE_CHECKPOINTS, lib, store_uri, *pairs], env=env, check=True, timeout=60)


class Writer:
    """A process that holds the store open for writing until close()."""

    def __init__(self, test, store_uri):
        lib = libestoria()
        env = dict(os.environ)
        preload = sanitizer_preload(lib)
        if preload:
            env['LD_PRELOAD'] = ':'.join(preload)
            env['ASAN_OPTIONS'] = 'detect_leaks=0'
        self.test = test
        self.closed = None
        self.proc = subprocess.Popen([sys.executable, '-c', WRITER, lib, store_uri], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        test.assertEqual(self.reply(), 'open')

    def reply(self):
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        if not ready:
            self.close()
            self.test.fail('the writer process did not answer')
        line = self.proc.stdout.readline().strip()
        if not line:
            err = self.proc.stderr.read()
            self.close()
            self.test.fail('the writer process stopped: ' + err)
        return line

    def append(self, stream, etype, data):
        """Appends one event; returns its global position."""
        self.proc.stdin.write(f'append {stream} {etype} {data}\n')
        self.proc.stdin.flush()
        line = self.reply()
        self.test.assertTrue(line.startswith('appended '), line)
        return int(line.split()[1])

    def close(self):
        """Closes the store (by closing stdin); returns (exit code, stderr).
        Calling it again returns the same."""
        if self.closed is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            err = self.proc.stderr.read()
            self.proc.stdout.close()
            self.proc.stderr.close()
            self.closed = (self.proc.returncode, err)
        return self.closed


class Tail:
    """`est tail -f --json` in the background, read one event at a time."""

    def __init__(self, test, store, *extra):
        self.test = test
        self.proc = subprocess.Popen([EST, 'tail', store, '-f', '--json', *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def next_event(self, timeout=20):
        deadline = time.monotonic() + timeout
        buf = b''
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 1)
                if not chunk:
                    break
                buf += chunk
                if chunk == b'\n':
                    return json.loads(buf)
        self.test.fail('tail -f printed no event in time: ' + buf.decode())

    def stop(self):
        """SIGINT; returns (exit code, stderr)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc, err


class EstCli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix='est-cli-')
        self.dir = self.tmp.name
        self.store = os.path.join(self.dir, 'store')

    def tearDown(self):
        self.tmp.cleanup()

    def ok(self, *args, stdin=None):
        r = run(*args, stdin=stdin)
        self.assertEqual(r.returncode, 0, f'est {args}: {r.stderr.decode()}')
        return r.stdout.decode()

    def append(self, store, stream, etype, data=None, *extra):
        args = ['append', store, stream, etype] + ([data] if data is not None else []) + list(extra) + ['--json']
        return json.loads(self.ok(*args))

    def read_json(self, *args):
        return [json.loads(line) for line in self.ok(*args, '--json').splitlines()]

    def assertOneLineError(self, r, code):
        err = r.stderr.decode()
        self.assertEqual(r.returncode, code, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertTrue(err.startswith('est'), err)

    # ------------------------------------------------------------- demo

    def test_DemoRunsTwiceAndContinues(self):
        first = self.ok('demo', self.store, '--operations', '150')
        self.assertIn('The store is empty', first)
        self.assertIn('refused', first)
        self.assertIn('reloading and deciding again', first)
        self.assertIn('the books balance', first)
        self.assertIn('load with snapshot', first)
        events_after_first = json.loads(self.ok('stats', self.store, '--json'))['events']
        second = self.ok('demo', self.store, '--operations', '150')
        self.assertIn(f'Found 5 accounts and {events_after_first} events from an earlier run', second)
        self.assertGreater(json.loads(self.ok('stats', self.store, '--json'))['events'], events_after_first)
        self.ok('verify', self.store)

    # ------------------------------------------------ append and read

    def test_AppendThenReadRoundTrips(self):
        res = self.append(self.store, 'order', 'placed', '{"qty":3}', '--content-type', 'application/json',
                          '--meta', 'user=ana', '--meta', 'source=cli')
        stream = res['stream']
        self.assertTrue(stream.startswith('order_'))
        self.assertEqual((res['first_version'], res['last_version']), (1, 1))
        res2 = self.append(self.store, stream, 'shipped', 'by post')
        self.assertEqual(res2['first_version'], 2)
        events = self.read_json('read', self.store, stream)
        self.assertEqual([e['version'] for e in events], [1, 2])
        self.assertEqual(events[0]['type'], 'placed')
        self.assertEqual(base64.b64decode(events[0]['data_base64']), b'{"qty":3}')
        self.assertEqual(events[0]['content_type'], 'application/json')
        self.assertEqual(events[0]['metadata'], {'source': 'cli', 'user': 'ana'})
        self.assertEqual(base64.b64decode(events[1]['data_base64']), b'by post')
        table = self.ok('read', self.store, stream)
        self.assertIn('placed', table)
        self.assertIn('by post', table)

    def test_AppendWithIdsIsSafeToRetry(self):
        first = self.append(self.store, 'order', 'placed', 'x')
        stream = first['stream']
        ids = ['0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01', '0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a02']
        lines = '{"type": "a", "data": "1"}\n{"type": "b", "data": "2"}\n'
        args = ['append', self.store, stream, '--json', '--expect-version', '1', '--id', ids[0], '--id', ids[1]]
        res = run(*args, stdin=lines.encode())
        self.assertEqual(res.returncode, 0, res.stderr)
        once = json.loads(res.stdout)
        self.assertFalse(once['duplicate'])
        again = run(*args, stdin=lines.encode())
        self.assertEqual(again.returncode, 0, again.stderr)
        twice = json.loads(again.stdout)
        self.assertTrue(twice['duplicate'])
        self.assertEqual((twice['first_version'], twice['last_version']), (once['first_version'], once['last_version']))
        events = self.read_json('read', self.store, stream)
        self.assertEqual([e['version'] for e in events], [1, 2, 3])
        plain = run('append', self.store, stream, '--expect-version', '1', '--id', ids[0], '--id', ids[1],
                    stdin=lines.encode())
        self.assertIn(b'already appended', plain.stdout)
        # One --id for two events is a usage error; a bad UUID too.
        self.assertEqual(run('append', self.store, stream, '--id', ids[0], stdin=lines.encode()).returncode,
                         EXIT_USAGE)
        self.assertEqual(run('append', self.store, stream, 'a', '--id', 'nope').returncode, EXIT_USAGE)

    def test_AppendExpectExists(self):
        missing = 'order_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9aff'
        res = run('append', self.store, missing, 'placed', '--expect', 'exists')
        self.assertEqual(res.returncode, EXIT_CONFLICT, res.stderr)
        self.assertIn(b'must exist', res.stderr)
        stream = self.append(self.store, 'order', 'placed', 'x')['stream']
        res = run('append', self.store, stream, 'shipped', '--expect', 'exists')
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(run('append', self.store, stream, 'x', '--expect', 'maybe').returncode, EXIT_USAGE)

    def test_AppendFromJsonLinesIsOneBatch(self):
        binary = bytes(range(256))
        lines = '\n'.join([
            json.dumps({'type': 'a', 'data': {'n': 1}}),
            json.dumps({'type': 'b', 'data': 'text', 'metadata': {'k': 'v'}}),
            json.dumps({'type': 'c', 'data_base64': base64.b64encode(binary).decode(),
                        'content_type': 'application/octet-stream'}),
        ]) + '\n'
        res = json.loads(self.ok('append', self.store, 'thing', '--json', stdin=lines.encode()))
        self.assertEqual((res['first_version'], res['last_version']), (1, 3))
        self.assertEqual(res['last_position'] - res['first_position'], 2)
        events = self.read_json('read', self.store, res['stream'])
        self.assertEqual([e['type'] for e in events], ['a', 'b', 'c'])
        self.assertEqual(json.loads(base64.b64decode(events[0]['data_base64'])), {'n': 1})
        self.assertEqual(events[0]['content_type'], 'application/json')
        self.assertEqual(events[1]['metadata'], {'k': 'v'})
        self.assertEqual(base64.b64decode(events[2]['data_base64']), binary)

    def test_ReadOptionsReverseAfterCount(self):
        stream = self.append(self.store, 'log', 'e', '1')['stream']
        for i in range(2, 6):
            self.append(self.store, stream, 'e', str(i))
        versions = lambda *a: [e['version'] for e in self.read_json('read', self.store, stream, *a)]
        self.assertEqual(versions(), [1, 2, 3, 4, 5])
        self.assertEqual(versions('--after', '2'), [3, 4, 5])
        self.assertEqual(versions('--count', '2'), [1, 2])
        self.assertEqual(versions('--reverse'), [5, 4, 3, 2, 1])
        self.assertEqual(versions('--reverse', '--after', '3', '--count', '2'), [3, 2])
        positions = [e['position'] for e in self.read_json('read-all', self.store, '--after', '2', '--count', '2')]
        self.assertEqual(positions, [3, 4])
        r = run('append', self.store, stream, 'e', 'x', '--expect-version', '4')
        self.assertOneLineError(r, EXIT_CONFLICT)
        self.assertIn('version 5', r.stderr.decode())

    def test_ReadAsOfATime(self):
        # Imported events keep their stamps: 2026-01-01T00:00:0Ns for N = 1, 3, 2, 4
        # (the second stamped after the third, as concurrent appends may leave them).
        base = 1767225600 * 10**9  # 2026-01-01T00:00:00Z
        stream = 'log_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01'
        lines = []
        for version, second in enumerate([1, 3, 2, 4], start=1):
            lines.append(json.dumps({
                'stream': stream, 'version': version, 'id': '0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a0%d' % version,
                'type': 'e', 'timestamp_ns': base + second * 10**9,
                'data_base64': base64.b64encode(str(version).encode()).decode()}))
        self.ok('import', self.store, stdin=('\n'.join(lines) + '\n').encode())
        versions = lambda *a: [e['version'] for e in self.read_json('read', self.store, stream, *a)]
        self.assertEqual(versions('--as-of', str(base + 1 * 10**9)), [1])
        self.assertEqual(versions('--as-of', str(base + 2 * 10**9)), [1], 'version 2 was stamped later')
        self.assertEqual(versions('--as-of', '2026-01-01T00:00:03Z'), [1, 2, 3])
        self.assertEqual(versions('--as-of', '2026-01-01T01:00:03.5+01:00'), [1, 2, 3])
        self.assertEqual(versions('--as-of', '2026-01-01T00:00:03Z', '--reverse', '--count', '1'), [3])
        self.assertEqual(versions('--as-of', '2025-12-31T23:59:59Z'), [])
        self.assertEqual(versions(), [1, 2, 3, 4])
        positions = lambda *a: len(self.read_json('read-all', self.store, *a))
        self.assertEqual(positions('--as-of', '2026-01-01T00:00:02Z'), 1)
        self.assertEqual(positions('--as-of', '2026-01-01T00:00:04Z'), 4)
        before = tree_digest(self.store)
        for bad in ['yesterday', '0', '-5', '2026-13-01T00:00:00Z', '1969-12-31T23:59:59Z']:
            r = run('read', self.store, stream, '--as-of=' + bad)
            self.assertOneLineError(r, EXIT_USAGE)
            self.assertIn('--as-of', r.stderr.decode())
        self.assertOneLineError(run('read-all', self.store, '--as-of', 'soon'), EXIT_USAGE)
        self.assertEqual(tree_digest(self.store), before)

    # ------------------------------------------------- export / import

    def make_varied_store(self, store):
        a = self.append(store, 'account', 'opened', '{"owner":"Ana"}', '--meta', 'teller=desk')['stream']
        for i in range(5):
            self.append(store, a, 'deposited', '{"amount":%d}' % i)
        b = json.loads(self.ok('append', store, 'blob', '--json', stdin=(json.dumps(
            {'type': 'bin', 'data_base64': base64.b64encode(bytes([0, 255, 10, 13, 0, 1])).decode()}) + '\n').encode()))
        b = b['stream']
        t = self.append(store, 'trimmed', 'x', '1')['stream']
        for i in range(2, 7):
            self.append(store, t, 'x', str(i))
        self.append(store, a, 'closed', '')
        self.ok('delete', store, t, '--to-version', '3')
        return a, b, t

    def test_ExportImportRoundTripIsByteIdentical(self):
        self.make_varied_store(self.store)
        exported = run('export', self.store)
        self.assertEqual(exported.returncode, 0, exported.stderr)
        self.assertEqual(exported.stderr, b'')
        self.assertEqual(len(exported.stdout.splitlines()), 6 + 1 + 3 + 1)
        fresh = os.path.join(self.dir, 'fresh')
        self.ok('import', fresh, stdin=exported.stdout)
        again = run('export', fresh)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(again.stdout, exported.stdout)
        # Positions are assigned afresh in the same order.
        positions = [e['position'] for e in self.read_json('read-all', fresh)]
        self.assertEqual(positions, sorted(positions))
        # Importing into a store that already has the streams is a conflict.
        r = run('import', fresh, stdin=exported.stdout)
        self.assertOneLineError(r, EXIT_CONFLICT)

    def test_ImportKeepsVersionsOfTruncatedStreams(self):
        _, blob, trimmed = self.make_varied_store(self.store)
        exported = self.ok('export', self.store)
        fresh = os.path.join(self.dir, 'fresh')
        self.ok('import', 'file:' + fresh, stdin=exported.encode())
        events = self.read_json('read', fresh, trimmed)
        self.assertEqual([e['version'] for e in events], [4, 5, 6])
        source = {e['id']: e for e in self.read_json('read', self.store, trimmed)}
        for e in events:
            self.assertEqual(e['timestamp_ns'], source[e['id']]['timestamp_ns'])
        [b] = self.read_json('read', fresh, blob)
        self.assertEqual(base64.b64decode(b['data_base64']), bytes([0, 255, 10, 13, 0, 1]))

    # ------------------------------------------------------------ verify

    def test_VerifyPassesOnASoundStore(self):
        self.make_varied_store(self.store)
        out = self.ok('verify', self.store)
        self.assertTrue(out.startswith('ok:'), out)
        self.assertIn('1 segments', out)

    def test_VerifyFailsOnACorruptedByteNamingTheOffset(self):
        self.make_varied_store(self.store)
        sound = json.loads(self.ok('verify', self.store, '--json'))
        segment = os.path.join(self.store, '0000000001.log')
        with open(segment, 'r+b') as f:
            # Inside the first records (the file is preallocated past them).
            f.seek(min(100, sound['bytes'] // 2))
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0xFF]))
        r = run('verify', self.store)
        self.assertOneLineError(r, EXIT_CORRUPTION)
        err = r.stderr.decode()
        self.assertIn('0000000001.log', err)
        self.assertIn('offset', err)

    # ---------------------------------------------------------- errors

    def test_BadArgumentsLeaveTheStoreUnchanged(self):
        a, _, _ = self.make_varied_store(self.store)
        before = tree_digest(self.store)
        bad = [
            ['read', self.store, 'not-an-id'],
            ['read', self.store, a, '--count', 'many'],
            ['read', self.store, a, '--count', '99999999999999999999999'],
            ['read', self.store, a, '--bogus'],
            ['read', self.store],
            ['read-all', self.store, '--after', '-3'],
            ['append', self.store, a, 'bad type\x01', 'x'],
            ['append', self.store, a, 'e', 'x', '--meta', 'novalue'],
            ['append', self.store, '_bad_', 'e'],
            ['delete', self.store, a, '--to-version', 'x'],
            ['delete', self.store, a, '--to-version', '0'],
            ['delete', self.store, 'nope'],
            ['stats', self.store, 'extra'],
            ['tail', self.store, '-n'],
            ['bench', self.store, '--events', '0'],
            ['bench', self.store, '--sync', 'sometimes'],
            ['export', 'gopher://x'],
        ]
        for args in bad:
            with self.subTest(args=args):
                self.assertOneLineError(run(*args), EXIT_USAGE)
        for stdin in [b'not json\n', b'{"type": 3}\n', b'{"type":"e","data_base64":"@@"}\n']:
            with self.subTest(stdin=stdin):
                self.assertOneLineError(run('append', self.store, a, stdin=stdin), EXIT_USAGE)
                self.assertOneLineError(run('import', self.store, stdin=stdin), EXIT_USAGE)
        self.assertOneLineError(run('frobnicate', self.store), EXIT_USAGE)
        self.assertEqual(tree_digest(self.store), before)

    def test_MissingStoreIsNotFoundAndNotCreated(self):
        missing = os.path.join(self.dir, 'missing')
        for args in (['read-all', missing], ['stats', missing], ['verify', missing], ['export', missing],
                     ['streams', 'file:' + missing], ['compact', missing], ['tail', missing],
                     ['read', missing, 'x_0190a1b2-0000-7000-8000-000000000000']):
            with self.subTest(args=args):
                self.assertOneLineError(run(*args), EXIT_NOT_FOUND)
        self.assertFalse(os.path.exists(missing))
        stream = self.append(self.store, 'x', 'e')['stream']
        self.assertOneLineError(run('read', self.store, stream.replace('x_', 'y_')), EXIT_NOT_FOUND)

    def test_APasswordInTheStoreUriIsNeverPrinted(self):
        # Port 1 on loopback refuses at once; the third URI is one libpq
        # rejects while quoting the (malformed) password itself.
        for uri, shown in (('postgresql://alice:SECRET@127.0.0.1:1/db?connect_timeout=2', 'alice:***@127.0.0.1'),
                           ('postgresql:///db?host=127.0.0.1&port=1&password=SECRET', 'password=***'),
                           ('postgresql:///db?host=/nonexistent&password=SECRET%zz', None),
                           ('mysql://alice:SECRET@host/db', 'alice:***@host')):
            for command in ('stats', 'read-all', 'verify'):
                with self.subTest(uri=uri, command=command):
                    r = run(command, uri)
                    out = r.stdout.decode() + r.stderr.decode()
                    self.assertNotEqual(r.returncode, 0, out)
                    self.assertNotIn('SECRET', out)
                    if shown is not None:
                        self.assertIn(shown, out)

    def test_ToolkitMetadataKeysAreStoredAsTheStoreStoresThem(self):
        # Estoria's own components write "estoria." keys through the store;
        # est passes them on like any other key.
        stream = self.append(self.store, 'x', 'e', 'd', '--meta', 'estoria.snapshot=1')['stream']
        events = self.read_json('read', self.store, stream)
        self.assertEqual(events[0]['metadata'], {'estoria.snapshot': '1'})

    def test_DeleteRemovesAStream(self):
        a = self.append(self.store, 'x', 'e', '1')['stream']
        self.append(self.store, a, 'e', '2')
        self.ok('delete', self.store, a, '--to-version', '1')
        self.assertEqual([e['version'] for e in self.read_json('read', self.store, a)], [2])
        self.ok('delete', self.store, a)
        self.assertOneLineError(run('read', self.store, a), EXIT_NOT_FOUND)

    def test_StreamsAndStatsReportTheStore(self):
        a, b, t = self.make_varied_store(self.store)
        listed = self.read_json('streams', self.store)
        self.assertEqual(sorted(s['stream'] for s in listed), sorted([a, b, t]))
        by_id = {s['stream']: s for s in listed}
        self.assertEqual((by_id[t]['version'], by_id[t]['events']), (6, 3))
        self.assertEqual(len(self.read_json('streams', self.store, '--count', '2')), 2)
        stats = json.loads(self.ok('stats', self.store, '--json'))
        self.assertEqual(stats['events'], 6 + 1 + 3 + 1)
        self.assertEqual(stats['streams'], 3)
        self.assertEqual(stats['segments'], 1)
        self.assertIn('events', self.ok('stats', self.store))

    def test_ProjectionsListsCheckpointsWithTheirLagAndDeleteRemovesOne(self):
        stream = self.append(self.store, 'x', 'e', '0')['stream']
        for i in range(1, 6):
            self.append(self.store, stream, 'e', str(i))
        save_checkpoints(self.store, orders_v1=3, orders_v2=1, totals_v4=6)
        rows = {r['projection']: r for r in self.read_json('projections', self.store)}
        self.assertEqual(sorted(rows), ['orders_v1', 'orders_v2', 'totals_v4'])
        self.assertEqual((rows['orders_v1']['version'], rows['orders_v1']['active'], rows['orders_v1']['position'],
                          rows['orders_v1']['lag']), (1, True, 3, 3))
        self.assertEqual((rows['orders_v2']['active'], rows['orders_v2']['lag']), (False, 5))
        self.assertEqual((rows['totals_v4']['name'], rows['totals_v4']['active'], rows['totals_v4']['lag']),
                         ('totals', True, 0))
        self.assertGreater(rows['orders_v1']['updated_at_ns'], 0)
        table = self.ok('projections', self.store)
        self.assertIn('orders_v2', table)
        self.assertIn('ACTIVE', table)
        self.ok('projection', 'delete', self.store, 'orders_v1')
        rows = {r['projection']: r for r in self.read_json('projections', self.store)}
        self.assertEqual(sorted(rows), ['orders_v2', 'totals_v4'])
        self.assertTrue(rows['orders_v2']['active'], 'the lowest version left is the active one')
        self.assertOneLineError(run('projection', 'delete', self.store, 'orders_v1'), EXIT_NOT_FOUND)
        self.assertOneLineError(run('projection', 'delete', self.store, 'Orders'), EXIT_USAGE)
        self.assertOneLineError(run('projections', os.path.join(self.dir, 'absent')), EXIT_NOT_FOUND)

    def test_BenchRunsAndCleansUp(self):
        out = self.ok('bench', 'memory:', '--events', '500', '--batch', '50')
        self.assertIn('events/s', out)
        self.ok('bench', self.store, '--events', '300', '--batch', '30', '--sync', 'none')
        self.assertEqual(json.loads(self.ok('stats', self.store, '--json'))['streams'], 0)

    def test_HelpOnEveryCommand(self):
        commands = ['demo', 'append', 'read', 'read-all', 'tail', 'streams', 'stats', 'verify', 'compact',
                    'delete', 'export', 'import', 'bench']
        for c in commands:
            with self.subTest(command=c):
                r = run(c, self.store, '--help')
                self.assertEqual(r.returncode, 0)
                self.assertIn(f'usage: est {c}', r.stdout.decode())
        top = self.ok('--help')
        for c in commands:
            self.assertIn(c, top)
        self.assertIn('exit codes', top)
        self.assertFalse(os.path.exists(self.store))

    # ------------------------------------------------------- live tail

    def test_TailFollowSeesAppendsFromAnotherProcess(self):
        stream = self.append(self.store, 'feed', 'before', 'old')['stream']
        tail = Tail(self, self.store)
        try:
            first = tail.next_event()
            self.assertEqual(first['type'], 'before')
            # Other processes append while tail follows (each est append is a
            # writer that opens and closes the store): every event shows, in
            # order, once.
            for i in range(1, 6):
                self.append(self.store, stream, 'live', f'new{i}')
                live = tail.next_event()
                self.assertEqual((live['type'], live['version']), ('live', i + 1))
                self.assertEqual(base64.b64decode(live['data_base64']), f'new{i}'.encode())
        finally:
            rc, err = tail.stop()
        self.assertEqual(rc, 0, err)

    def test_TailFollowFromEndShowsOnlyLaterCommits(self):
        stream = self.append(self.store, 'feed', 'before', 'old')['stream']
        tail = Tail(self, self.store, '--from-end')
        try:
            # Nothing of the past: the first line tail prints is the next commit.
            time.sleep(1.0)  # tail has subscribed by then (it prints nothing to say so)
            self.append(self.store, stream, 'after', 'new')
            live = tail.next_event()
            self.assertEqual((live['type'], live['version']), ('after', 2))
        finally:
            rc, err = tail.stop()
        self.assertEqual(rc, 0, err)

    def test_TailFiltersByStreamPrefixAndRepeatedType(self):
        self.append(self.store, 'order', 'placed', 'o1')
        account = self.append(self.store, 'account', 'opened', 'a1')['stream']
        self.append(self.store, account, 'noted', 'skip')
        self.append(self.store, account, 'deposited', 'a2')
        out = [json.loads(line) for line in
               self.ok('tail', self.store, '--json', '--stream-prefix', 'account_', '--type', 'opened',
                       '--type', 'deposited').splitlines()]
        self.assertEqual([e['type'] for e in out], ['opened', 'deposited'])
        tail = Tail(self, self.store, '--from-end', '--stream-prefix', 'account', '--type', 'deposited')
        try:
            time.sleep(1.0)  # tail has subscribed by then (it prints nothing to say so)
            self.append(self.store, 'order', 'deposited', 'not an account')
            self.append(self.store, account, 'noted', 'not this type')
            self.append(self.store, account, 'deposited', 'this one')
            live = tail.next_event()
            self.assertEqual(base64.b64decode(live['data_base64']), b'this one')
        finally:
            rc, err = tail.stop()
        self.assertEqual(rc, 0, err)

    def test_TailRefusesABadType(self):
        r = run('tail', self.store, '--type', '_bad')
        self.assertOneLineError(r, 2)

    def test_TailFollowKeepsWorkingBesideAWriterHoldingTheStore(self):
        stream = self.append(self.store, 'feed', 'before', 'old')['stream']
        writer = Writer(self, self.store)
        tail = None
        try:
            tail = Tail(self, self.store)
            self.assertEqual(tail.next_event()['type'], 'before')
            # The writer holds the store the whole time; tail (one read-only
            # open) sees each batch it publishes.
            for i in range(1, 4):
                position = writer.append(stream, 'held', f'h{i}')
                live = tail.next_event()
                self.assertEqual((live['type'], live['version'], live['position']), ('held', i + 1, position))
            # Two batches between polls come out in order.
            writer.append(stream, 'burst', 'b1')
            writer.append(stream, 'burst', 'b2')
            self.assertEqual([tail.next_event()['data_base64'] for _ in range(2)],
                             [base64.b64encode(b'b1').decode(), base64.b64encode(b'b2').decode()])
            self.assertEqual(writer.close(), (0, ''))
            # The writer has gone; another comes (est append) and tail goes on.
            self.append(self.store, stream, 'after', 'a')
            self.assertEqual(tail.next_event()['type'], 'after')
        finally:
            writer.close()
            if tail:
                rc, err = tail.stop()
                self.assertEqual(rc, 0, err)

    def test_ReadCommandsWorkBesideAWriterHoldingTheStore(self):
        a, b, t = self.make_varied_store(self.store)
        exported = self.ok('export', self.store)
        writer = Writer(self, self.store)
        try:
            position = writer.append(a, 'held', 'x')
            events = self.read_json('read', self.store, a)
            self.assertEqual(events[-1]['type'], 'held')
            self.assertEqual(events[-1]['position'], position)
            self.assertEqual(len(self.read_json('read-all', self.store)), 12)
            self.assertEqual(sorted(s['stream'] for s in self.read_json('streams', self.store)), sorted([a, b, t]))
            stats = json.loads(self.ok('stats', self.store, '--json'))
            self.assertEqual((stats['events'], stats['last_position']), (12, position))
            # The export holds what was there before, then the held event.
            lines = self.ok('export', self.store).splitlines()
            self.assertEqual(lines[:-1], exported.splitlines())
            self.assertEqual(json.loads(lines[-1])['type'], 'held')
            self.assertEqual(json.loads(self.ok('tail', self.store, '-n', '1', '--json'))['type'], 'held')
            # ... and the writer really holds it: another writer is refused.
            self.assertOneLineError(run('delete', self.store, b), EXIT_BUSY)
            # The reads took nothing from the writer.
            writer.append(a, 'held', 'y')
        finally:
            rc, err = writer.close()
        self.assertEqual(rc, 0, err)
        self.assertEqual([e['type'] for e in self.read_json('read', self.store, a)][-2:], ['held', 'held'])

    # ---------------------------------------------------------- compact

    def make_compactable_store(self, uri):
        """Small segments, so that several are sealed; a stream deleted and
        one truncated leave events for compaction to drop. Returns (kept
        stream, deleted stream, truncated stream)."""
        kept = self.append(uri, 'account', 'opened', 'k0')['stream']
        doomed = self.append(uri, 'doomed', 'e', 'd0')['stream']
        trimmed = self.append(uri, 'trimmed', 'e', 't1')['stream']
        filler = 'z' * 200
        for i in range(8):
            self.append(uri, kept, 'deposited', f'k{i + 1}', '--meta', f'n={i}')
            batch = ''.join(json.dumps({'type': 'e', 'data': f'{filler}{i}.{j}'}) + '\n' for j in range(4))
            self.ok('append', uri, doomed, stdin=batch.encode())
            self.append(uri, trimmed, 'e', f't{i + 2}')
        self.ok('delete', uri, doomed)
        self.ok('delete', uri, trimmed, '--to-version', '4')
        return kept, doomed, trimmed

    def snapshot(self, uri):
        """What readers see of a store (positions included)."""
        return {
            'export': self.ok('export', uri),
            'read-all': self.ok('read-all', uri, '--json'),
            'streams': self.ok('streams', uri, '--json'),
        }

    def test_CompactReclaimsDeletedEventsAndKeepsTheRest(self):
        uri = f'file:{self.store}?segment_bytes=4096&preallocate_bytes=0'
        kept, doomed, trimmed = self.make_compactable_store(uri)
        before = self.snapshot(uri)
        stats_before = json.loads(self.ok('stats', uri, '--json'))
        self.assertGreater(stats_before['segments'], 2)
        out = self.ok('compact', uri)
        self.assertIn('kept', out)
        self.assertIn('dropped', out)
        self.assertIn('->', out)
        stats_after = json.loads(self.ok('stats', uri, '--json'))
        self.assertLess(stats_after['bytes'], stats_before['bytes'])
        for key in ('events', 'streams', 'first_position', 'last_position'):
            self.assertEqual(stats_after[key], stats_before[key], key)
        self.assertEqual(self.snapshot(uri), before)
        self.assertEqual(self.snapshot(self.store), before)  # the bare path, too
        self.assertTrue(self.ok('verify', uri).startswith('ok:'))
        self.assertOneLineError(run('read', uri, doomed), EXIT_NOT_FOUND)
        self.assertEqual([e['version'] for e in self.read_json('read', uri, trimmed)], [5, 6, 7, 8, 9])
        # Appends go on after it, where the log left off.
        res = self.append(uri, kept, 'closed', '')
        self.assertEqual(res['first_version'], 10)
        self.assertGreater(res['first_position'], stats_before['last_position'])

    def test_CompactJsonReportsItsFields(self):
        fields = ['segments_before', 'segments_after', 'bytes_before', 'bytes_after', 'events_kept',
                  'events_dropped']
        uri = f'file:{self.store}?segment_bytes=4096&preallocate_bytes=0'
        self.make_compactable_store(uri)
        events = json.loads(self.ok('stats', uri, '--json'))['events']
        out = self.ok('compact', uri, '--json')
        self.assertEqual(len(out.splitlines()), 1, out)
        report = json.loads(out)
        self.assertEqual(list(report), fields)
        for f in fields:
            self.assertIsInstance(report[f], int, f)
        self.assertGreater(report['segments_before'], 0)
        self.assertGreater(report['events_dropped'], 0)
        self.assertLessEqual(report['events_dropped'], 1 + 8 * 4 + 4)
        self.assertLessEqual(report['events_kept'], events)
        self.assertLess(report['bytes_after'], report['bytes_before'])
        # Done once, there is nothing left to drop.
        self.assertEqual(json.loads(self.ok('compact', uri, '--json'))['events_dropped'], 0)
        # Nothing sealed, nothing deleted: a report of zeros, in plain words too.
        fresh = os.path.join(self.dir, 'fresh')
        self.append(fresh, 'x', 'e')
        self.assertEqual(json.loads(self.ok('compact', fresh, '--json')), dict.fromkeys(fields, 0))
        self.assertIn('nothing to reclaim', self.ok('compact', fresh))
        self.assertEqual(json.loads(self.ok('compact', 'memory:', '--json')), dict.fromkeys(fields, 0))

    def test_CompactOnAStoreHeldByAWriterIsBusy(self):
        uri = f'file:{self.store}?segment_bytes=4096&preallocate_bytes=0'
        self.make_compactable_store(uri)
        before = self.snapshot(uri)
        writer = Writer(self, uri)
        try:
            # (Bytes are compared while the writer holds the store: its own
            # open and close may write frames.)
            held = json.loads(self.ok('stats', uri, '--json'))
            r = run('compact', uri)
            self.assertOneLineError(r, EXIT_BUSY)
            self.assertIn('BUSY', r.stderr.decode())
            self.assertEqual(r.stdout, b'')
            self.assertEqual(json.loads(self.ok('stats', uri, '--json')), held)
        finally:
            rc, err = writer.close()
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.snapshot(uri), before)

    # ---------------------------------------------------------- progress

    def test_NoProgressOutputWhenPiped(self):
        self.make_varied_store(self.store)
        for args in (['verify', self.store], ['export', self.store], ['bench', self.store, '--events', '200', '--sync', 'none'],
                     ['compact', self.store, '--json']):
            with self.subTest(args=args):
                r = run(*args)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, b'')
        exported = run('export', self.store).stdout
        r = run('import', os.path.join(self.dir, 'copy'), stdin=exported)
        self.assertEqual((r.returncode, r.stderr), (0, b''))
        # On a terminal, the same command draws a bar on stderr.
        pid, fd = pty.fork()
        if pid == 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.execv(EST, [EST, 'bench', 'memory:', '--events', '2000', '--batch', '10'])
        seen = b''
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        self.assertIn(b'%', seen)
        self.assertIn(b'appending', seen)


if __name__ == '__main__':
    EST = os.path.abspath(sys.argv.pop(1))
    unittest.main()
