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

EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CORRUPTION, EXIT_CONFLICT, EXIT_UNSUPPORTED = 2, 3, 4, 6, 7


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
            ['append', self.store, a, 'e', 'x', '--meta', 'estoria.reserved=1'],
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
                     ['streams', 'file:' + missing], ['compact', missing]):
            with self.subTest(args=args):
                self.assertOneLineError(run(*args), EXIT_NOT_FOUND if args[0] != 'compact' else EXIT_UNSUPPORTED)
        self.assertFalse(os.path.exists(missing))
        stream = self.append(self.store, 'x', 'e')['stream']
        self.assertOneLineError(run('read', self.store, stream.replace('x_', 'y_')), EXIT_NOT_FOUND)

    def test_CompactIsUnsupported(self):
        self.append(self.store, 'x', 'e')
        before = tree_digest(self.store)
        r = run('compact', self.store)
        self.assertOneLineError(r, EXIT_UNSUPPORTED)
        self.assertIn('EST_ERR_UNSUPPORTED', r.stderr.decode())
        self.assertEqual(tree_digest(self.store), before)

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
        tail = subprocess.Popen([EST, 'tail', self.store, '-f', '--json', '--interval', '50'],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            def next_event(deadline):
                buf = b''
                while time.monotonic() < deadline:
                    ready, _, _ = select.select([tail.stdout], [], [], 0.1)
                    if ready:
                        chunk = os.read(tail.stdout.fileno(), 1)
                        if not chunk:
                            break
                        buf += chunk
                        if chunk == b'\n':
                            return json.loads(buf)
                self.fail('tail -f printed no event in time: ' + buf.decode())

            first = next_event(time.monotonic() + 20)
            self.assertEqual(first['type'], 'before')
            # Another process appends while tail follows.
            self.append(self.store, stream, 'live', 'new')
            live = next_event(time.monotonic() + 20)
            self.assertEqual((live['type'], live['version']), ('live', 2))
            self.assertEqual(base64.b64decode(live['data_base64']), b'new')
        finally:
            tail.send_signal(signal.SIGINT)
            try:
                rc = tail.wait(timeout=10)
            except subprocess.TimeoutExpired:
                tail.kill()
                raise
        err = tail.stderr.read()
        tail.stdout.close()
        tail.stderr.close()
        self.assertEqual(rc, 0, err)

    # ---------------------------------------------------------- progress

    def test_NoProgressOutputWhenPiped(self):
        self.make_varied_store(self.store)
        for args in (['verify', self.store], ['export', self.store], ['bench', self.store, '--events', '200', '--sync', 'none']):
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
