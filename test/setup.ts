// Loaded before every test file (.mocharc.json `require`). The Alibaba Cloud default credential chain would probe
// the ECS metadata service and read the developer's own CLI profiles; tests use only what they set themselves.
process.env.ALIBABA_CLOUD_ECS_METADATA_DISABLED = 'true';
process.env.ALIBABA_CLOUD_CLI_PROFILE_DISABLED = 'true';
process.env.ALIBABA_CLOUD_CREDENTIALS_FILE = '/nonexistent/sgrestore-tests';
delete process.env.ALIBABA_CLOUD_ROLE_ARN;
delete process.env.ALIBABA_CLOUD_CREDENTIALS_URI;
delete process.env.SGRESTORE_ECS_ENDPOINT;
