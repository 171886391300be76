/*
 * cli.h — the commands behind main.c's table, one function each, taking the
 * arguments after the command word(s). Each returns the process exit code:
 * 0 on success, 1 on failure, 2 on bad usage (with a message on stderr).
 */
#ifndef CW_CLI_H
#define CW_CLI_H

int cli_demo(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_sim(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_org_create(int argc, char **argv);
int cli_number_add(int argc, char **argv);
int cli_apikey_create(int argc, char **argv);
int cli_import_contacts(int argc, char **argv);
int cli_import_fhir(int argc, char **argv);
int cli_audit_verify(int argc, char **argv);
int cli_segment(int argc, char **argv);
int cli_journey_check(int argc, char **argv);
int cli_agent_create(int argc, char **argv);

#endif
