/*
 * The limit: what this machine can push through loopback at all, as the ceiling the
 * benchmark compares Faultline with.
 *
 * Accepts connections on 127.0.0.1 and, once a connection has sent anything (its request,
 * unparsed), writes the same pre-encoded bytes to it as fast as the kernel takes them, then
 * shuts down its side and closes when the client closes. The bytes are a whole HTTP response
 * captured from `faultline serve` once (head, chunk framing, SSE events), so the load
 * generator reads exactly what it reads from Faultline. No parsing, no timers, no copies:
 * one epoll loop per thread, nonblocking sockets, write() straight from the one buffer.
 * With THREADS > 1 each thread has its own epoll set and takes connections from the one
 * listening socket (EPOLLEXCLUSIVE: one thread woken per new connection), so the ceiling can
 * rise with the load generator's threads.
 *
 * usage: limit RESPONSE_FILE [THREADS]   (1..64, default 1)
 * Prints "http://127.0.0.1:PORT" on stdout once listening; runs until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FDS 65536

/* Per file descriptor: how far into the response it is (-1 = not yet asked). */
static long sent[MAX_FDS];
static char *resp;
static size_t resp_len;
static volatile sig_atomic_t stop;
static int lfd;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int load(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) || st.st_size <= 0)
        return -1;
    resp_len = (size_t)st.st_size;
    resp = malloc(resp_len);
    size_t n = resp ? fread(resp, 1, resp_len, f) : 0;
    fclose(f);
    return n == resp_len ? 0 : -1;
}

/* Writes as much of the response as the socket takes. Returns false when fd is finished. */
static bool pump(int fd)
{
    while ((size_t)sent[fd] < resp_len) {
        ssize_t n = write(fd, resp + sent[fd], resp_len - (size_t)sent[fd]);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        sent[fd] += n;
    }
    shutdown(fd, SHUT_WR);
    return true;
}

/* One thread's loop: accepts what it is woken for, serves the connections it accepted. */
static void *serve(void *arg)
{
    (void)arg;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = lfd};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev)) {
        perror("limit: epoll");
        exit(1);
    }
    struct epoll_event *evs = calloc(1024, sizeof(*evs));
    char *scratch = malloc(65536);
    if (!evs || !scratch)
        exit(1);
    while (!stop) {
        int n = epoll_wait(ep, evs, 1024, 200);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (c >= MAX_FDS) {
                        close(c);
                        continue;
                    }
                    int one = 1;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    sent[c] = -1;
                    struct epoll_event ce = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
                continue;
            }
            bool done = false;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t r;
                while ((r = read(fd, scratch, 65536)) > 0)
                    if (sent[fd] < 0)
                        sent[fd] = 0; /* the request arrived: answer */
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                    done = true; /* the client closed */
            }
            if (!done && sent[fd] >= 0 && !pump(fd))
                done = true;
            if (done) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
            }
        }
    }
    close(ep);
    free(evs);
    free(scratch);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc == 3 ? atoi(argv[2]) : 1;
    if (argc < 2 || argc > 3 || threads < 1 || threads > 64 || load(argv[1])) {
        fprintf(stderr, "usage: limit RESPONSE_FILE [THREADS] (a captured HTTP response)\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4096) ||
        getsockname(lfd, (struct sockaddr *)&a, &al)) {
        perror("limit: listen");
        return 1;
    }
    printf("http://127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    pthread_t t[64];
    for (int i = 1; i < threads; i++)
        if (pthread_create(&t[i], NULL, serve, NULL)) {
            perror("limit: pthread_create");
            return 1;
        }
    serve(NULL);
    for (int i = 1; i < threads; i++)
        pthread_join(t[i], NULL);
    close(lfd);
    free(resp);
    return 0;
}
