// The helper processes of the multi-process tests (tests/crash,
// tests/readers, tests/acceptance/large_store_test.cc), both sides:
//
// - the test's side: ChildProcess starts a helper with fork + exec, its
//   stdout (and, when asked, its stdin) on a pipe, reads what it writes with
//   a timeout, sends it lines, signals it and reaps it;
// - the helper's side (crash_writer, follow_writer): WriteLine and Fail, the
//   line protocol those helpers speak on stdout;
// - the stream IDs a helper writes and its checker reads.
//
// Header-only and free of GoogleTest, so that the helpers include it too.
// A ChildProcess belongs to one thread; the rest holds no state.
#ifndef ESTORIA_TESTS_COMMON_CHILD_PROCESS_H_
#define ESTORIA_TESTS_COMMON_CHILD_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "estoria/estoria.h"

namespace estoria::test {

// ------------------------------------------------------------ the test's side

// The complete lines of a helper's output (a trailing partial line is not
// one: the helper may have died in the middle of writing it).
inline std::vector<std::string> Lines(const std::string& output) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = output.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(output.substr(start, nl - start));
  }
  return lines;
}

// A helper running as a child process. The destructor kills (SIGKILL) and
// reaps a child the test did not Finish, so that a failed assertion never
// leaves one behind; PR_SET_PDEATHSIG does the same if the test crashes.
class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts args[0] with `args` as its argv, its stdout on a pipe, and its
  // stdin on another when `with_stdin` (else it shares the test's). On
  // failure started() is false and error() says why.
  explicit ChildProcess(const std::vector<std::string>& args, bool with_stdin = true) {
    int out[2];
    int in[2] = {-1, -1};
    if (pipe2(out, O_CLOEXEC) != 0) {
      error_ = std::string("pipe2: ") + std::strerror(errno);
      return;
    }
    if (with_stdin && pipe2(in, O_CLOEXEC) != 0) {
      error_ = std::string("pipe2: ") + std::strerror(errno);
      close(out[0]);
      close(out[1]);
      return;
    }
    // Built before fork: between fork and exec the child may only make
    // async-signal-safe calls.
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      dup2(out[1], STDOUT_FILENO);  // the duplicate does not inherit O_CLOEXEC
      if (with_stdin) dup2(in[0], STDIN_FILENO);
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    if (with_stdin) close(in[0]);
    if (pid < 0) {
      error_ = std::string("fork: ") + std::strerror(errno);
      close(out[0]);
      if (with_stdin) close(in[1]);
      return;
    }
    pid_ = pid;
    out_fd_ = out[0];
    in_fd_ = with_stdin ? in[1] : -1;
  }

  ~ChildProcess() {
    if (pid_ > 0 && !reaped_) Finish(SIGKILL);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  pid_t pid() const { return pid_; }
  bool eof() const { return eof_; }
  // Everything the child wrote so far.
  const std::string& output() const { return output_; }

  // Reads what the child writes within `timeout_ms` (one read at most).
  void Pump(int timeout_ms) {
    if (eof_ || out_fd_ < 0) return;
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return;
    char buf[16384];
    const ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n > 0) {
      output_.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      eof_ = true;
    }
  }

  // Reads for `ms` milliseconds (or to EOF), so that the child never blocks
  // on a full pipe meanwhile.
  void PumpFor(int ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
    do {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      Pump(left > 0 ? static_cast<int>(left) : 0);
    } while (!eof_ && Clock::now() < deadline);
  }

  // The complete lines written since the last call (or WaitForLine).
  std::vector<std::string> NewLines() {
    std::vector<std::string> lines;
    for (size_t nl; (nl = output_.find('\n', consumed_)) != std::string::npos; consumed_ = nl + 1) {
      lines.push_back(output_.substr(consumed_, nl - consumed_));
    }
    return lines;
  }

  // Reads until the child wrote a line equal to `want` (or starting with it
  // when `prefix`) and returns that line; "" on EOF or after `timeout`. The
  // new lines read meanwhile, the one returned included, are appended to
  // *seen when it is not null.
  std::string WaitForLine(const std::string& want, bool prefix,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60),
                          std::vector<std::string>* seen = nullptr) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      for (const std::string& line : NewLines()) {
        if (seen != nullptr) seen->push_back(line);
        if (line == want || (prefix && line.rfind(want, 0) == 0)) return line;
      }
      if (eof_ || Clock::now() > deadline) return "";
      Pump(50);
    }
  }

  // Writes `line` and a newline to the child's stdin; false (with errno
  // set) when that fails or the child has no stdin pipe.
  bool Send(const std::string& line) {
    if (in_fd_ < 0) return false;
    const std::string text = line + "\n";
    return write(in_fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  }

  // Signals the child (when `signal` > 0) and closes its stdin, reads its
  // output to EOF and reaps it. A child still running after 120 s is killed
  // (and the test, seeing the status, fails). Returns the wait status.
  int Finish(int signal) {
    if (pid_ <= 0 || reaped_) return status_;
    if (signal > 0) kill(pid_, signal);
    if (in_fd_ >= 0) {
      close(in_fd_);
      in_fd_ = -1;
    }
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (!eof_ && Clock::now() < deadline) Pump(100);
    if (!eof_) kill(pid_, SIGKILL);
    while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    close(out_fd_);
    out_fd_ = -1;
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int in_fd_ = -1;
  bool eof_ = false;
  bool reaped_ = false;
  int status_ = 0;
  std::string error_;
  std::string output_;
  size_t consumed_ = 0;
};

// ------------------------------------------------------------ the helper's side

// Writes a whole line to stdout with one write(2) (retried only on EINTR),
// so that a reader sees either all of it or none, even when the helper is
// SIGKILLed: the helpers' lines are shorter than PIPE_BUF.
inline void WriteLine(const std::string& line) {
  const std::string text = line + "\n";
  for (;;) {
    const ssize_t n = write(STDOUT_FILENO, text.data(), text.size());
    if (n >= 0 || errno != EINTR) return;
  }
}

// Writes "error STATUS_NAME WHAT: LAST_ERROR" and exits with status 2,
// without destructors (other threads may still be appending).
[[noreturn]] inline void Fail(const char* what, est_status status) {
  WriteLine(std::string("error ") + est_status_name(status) + " " + what + ": " + est_last_error());
  _exit(2);
}

// ------------------------------------------------------------ stream IDs

// crash_writer's stream `index`.
inline std::string CrashStreamId(int index) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "crash_00000000-0000-4000-8000-%012d", index + 1);
  return buf;
}

// follow_writer's stream `index` of `streams` live ones; index `streams` is
// the doomed stream (the one its doomed_every= batches go to).
inline std::string FollowStreamId(int index, int streams) {
  char buf[64];
  if (index == streams) {
    std::snprintf(buf, sizeof buf, "doomed_00000000-0000-4000-8000-000000000001");
  } else {
    std::snprintf(buf, sizeof buf, "follow_00000000-0000-4000-8000-%012d", index + 1);
  }
  return buf;
}

}  // namespace estoria::test

#endif  // ESTORIA_TESTS_COMMON_CHILD_PROCESS_H_
