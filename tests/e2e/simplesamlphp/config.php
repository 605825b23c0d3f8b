<?php

/*
 * SimpleSAMLphp 1.19 configuration for samljit's end-to-end tests.
 *
 * tests/e2e/conftest.py copies this file into a temporary directory, points
 * SIMPLESAMLPHP_CONFIG_DIR at it and runs `php -S 127.0.0.1:<port>`. Everything that
 * SimpleSAMLphp writes (sessions, logs, caches) and every key it reads lives under
 * SAMLJIT_SSP_DIR, that temporary directory: nothing under /etc or /var is used.
 * Secrets (salt, admin password) are random per run, passed in the environment.
 */

$root = getenv('SAMLJIT_SSP_DIR');
if ($root === false || !is_dir($root)) {
    throw new \Exception('SAMLJIT_SSP_DIR must name the test run\'s temporary directory');
}

$config = [
    // The server is started with a docroot holding `simplesaml` -> SimpleSAMLphp's www/.
    'baseurlpath' => 'simplesaml/',

    'certdir' => $root . '/cert/',
    'metadatadir' => $root . '/metadata/',
    'loggingdir' => $root . '/log/',
    'datadir' => $root . '/data/',
    'tempdir' => $root . '/tmp/',

    'secretsalt' => getenv('SAMLJIT_SSP_SECRETSALT'),
    'auth.adminpassword' => getenv('SAMLJIT_SSP_ADMINPASSWORD'),
    'admin.protectindexpage' => true,
    'admin.protectmetadata' => false,
    'admin.checkforupdates' => false,

    'technicalcontact_name' => 'samljit tests',
    'technicalcontact_email' => 'tests@samljit.test',
    'timezone' => 'UTC',

    'production' => false,
    'showerrors' => true,
    'errorreporting' => false,
    'debug' => ['saml' => false, 'backtraces' => true, 'validatexml' => false],

    'logging.level' => SimpleSAML\Logger::INFO,
    'logging.handler' => 'file',
    'logging.logfile' => 'simplesamlphp.log',

    'enable.saml20-idp' => true,
    'enable.shib13-idp' => false,
    'enable.adfs-idp' => false,

    'module.enable' => [
        'core' => true,
        'saml' => true,
        'admin' => true,
        'exampleauth' => true,
    ],

    // Plain http on 127.0.0.1: cookies must not require TLS.
    'session.cookie.secure' => false,
    'session.cookie.samesite' => null,
    'language.cookie.secure' => false,
    'language.cookie.samesite' => null,
    // Where SimpleSAMLphp may redirect after a logout (SingleLogoutService.php?ReturnTo=):
    // besides itself, only the SP's origin (which nothing serves: the tests' browser stops
    // at any redirect there). The browser tests' apps need none: their logouts go by SAML
    // messages to the SLO endpoints of their metadata, not by ReturnTo.
    'trusted.url.domains' => ['127.0.0.1:9'],

    'store.type' => 'phpsession',
    'session.phpsession.savepath' => $root . '/sessions',

    'metadata.sources' => array_merge(
        // saml20-idp-hosted.php and saml20-sp-remote.php in 'metadatadir'.
        [['type' => 'flatfile']],
        // SPs typed into the IdP's console from the values of their setup pages (entity ID,
        // ACS URL, SLO URL): tests/e2e/ssp.py (SimpleSAMLphp.register_sp_values) rewrites
        // this directory's saml20-sp-remote.php while the server runs.
        [['type' => 'flatfile', 'directory' => $root . '/metadata/console/']],
        // SP metadata XML as an SP administrator would send it: samljit.build_sp_metadata's
        // output, or what a running example app serves at /sso/acme/metadata. The fixtures
        // (tests/e2e/ssp.py, SimpleSAMLphp.register_sp) write one file per SP, even while
        // the server runs: this file is read again for every request.
        array_map(
            fn (string $file): array => ['type' => 'xml', 'file' => $file],
            glob($root . '/metadata/sp/*.xml') ?: []
        )
    ),

    // Release only the attributes each SP entry lists in its 'attributes' option.
    'authproc.idp' => [
        50 => 'core:AttributeLimit',
    ],
];
