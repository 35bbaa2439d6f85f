# SPDX-License-Identifier: MIT
# top_tty.py FWD SOCKET HOW - run `fwd top` on a pseudo-terminal against a
# fake daemon at SOCKET, end it by HOW (ctrl-c: the key; term: SIGTERM) and
# print "ended=STATUS ECHO=0|1 ICANON=0|1 ISIG=0|1": how it ended and the
# terminal's modes after it.
import os, pty, signal, socket, sys, termios, threading, time

fwd, path, how = sys.argv[1:4]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(16)


def serve():
    while True:
        c, _ = srv.accept()
        c.recv(4096)
        c.sendall(b"queue 1 received 10 enobufs 0 queue_dropped 0 user_dropped 0\n"
                  b"default drop 0\nrule a allow 1\n")
        c.close()


threading.Thread(target=serve, daemon=True).start()
pid, fd = pty.fork()
if pid == 0:
    os.execv(fwd, ["fwd", "top", "--socket", path])


def drain():
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


threading.Thread(target=drain, daemon=True).start()
time.sleep(1.5)
if how == "ctrl-c":
    os.write(fd, b"\x03")
else:
    os.kill(pid, signal.SIGTERM)
ended = "running"
for _ in range(30):
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        ended = "signal%d" % os.WTERMSIG(st) if os.WIFSIGNALED(st) else "exit%d" % os.WEXITSTATUS(st)
        break
    time.sleep(0.1)
if ended == "running":
    os.kill(pid, signal.SIGKILL)
lflag = termios.tcgetattr(fd)[3]
print("ended=%s ECHO=%d ICANON=%d ISIG=%d" % (ended, bool(lflag & termios.ECHO),
      bool(lflag & termios.ICANON), bool(lflag & termios.ISIG)))
