// The cold-start floor: an SCF handler that loads nothing and answers at once.
exports.main_handler = async () => ({ isBase64Encoded: false, statusCode: 200, headers: { "Content-Type": "application/json" }, body: "{}" });
