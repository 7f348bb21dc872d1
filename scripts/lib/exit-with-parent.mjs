// Preloaded into the processes `npm start` supervises: when the supervisor dies (even by SIGKILL) the
// IPC channel closes, and the child shuts down gracefully instead of holding its port as an orphan.
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
