// mcd_app: start-up code of the memcached binary (daemonizing, signals, logging set-up) lives in
// this library next to main.cc. The command line is parsed by mcd_options (options.cc), which
// depends on nothing but the option structs, so it is built and tested on its own.
