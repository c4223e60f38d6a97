@echo off
rem ZIT Desktop launcher and set-up for Windows.
rem   run.bat          set up (first time only) and open the app
rem   run.bat test     set up, then run the whole test suite
rem   run.bat ARGS     set up, then run "zit-desktop ARGS"
setlocal EnableExtensions EnableDelayedExpansion
cd /d "%~dp0"
set "VENV=%~dp0.venv"
if "%ZIT_TORCH_VERSION%"=="" set "ZIT_TORCH_VERSION=2.13.0"
if "%ZIT_TORCH_CUDA_INDEX%"=="" set "ZIT_TORCH_CUDA_INDEX=https://download.pytorch.org/whl/cu128"

if not exist "%VENV%\Scripts\python.exe" (
    set "PY="
    where py >nul 2>nul && py -3 -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)" >nul 2>nul && set "PY=py -3"
    if "!PY!"=="" (
        where python >nul 2>nul && python -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)" >nul 2>nul && set "PY=python"
    )
    if "!PY!"=="" (
        echo [zit-desktop] error: Python 3.11 or newer is needed. Install it from python.org ^(tick "Add to PATH"^) and run again.
        pause
        exit /b 1
    )
    echo [zit-desktop] creating .venv
    !PY! -m venv "%VENV%" || (echo [zit-desktop] error: could not create the virtual environment. & pause & exit /b 1)
)

set "FLAVOUR=cpu"
if not "%ZIT_TORCH_FLAVOUR%"=="" (set "FLAVOUR=%ZIT_TORCH_FLAVOUR%") else (
    where nvidia-smi >nul 2>nul && nvidia-smi -L >nul 2>nul && set "FLAVOUR=cuda"
)
set "STAMPFILE=%VENV%\.zit-deps"
for /f "delims=" %%H in ('"%VENV%\Scripts\python.exe" -c "import hashlib,sys; print(hashlib.sha256(open('pyproject.toml','rb').read()+b'torch=%ZIT_TORCH_VERSION% flavour=%FLAVOUR%').hexdigest())"') do set "WANT=%%H"
set "HAVE="
if exist "%STAMPFILE%" set /p HAVE=<"%STAMPFILE%"
if not "%HAVE%"=="%WANT%" (
    echo [zit-desktop] installing dependencies ^(torch %ZIT_TORCH_VERSION%, %FLAVOUR% build^); the first time takes a while
    if "%FLAVOUR%"=="cuda" (
        "%VENV%\Scripts\python.exe" -m pip install -q --disable-pip-version-check --index-url "%ZIT_TORCH_CUDA_INDEX%" "torch==%ZIT_TORCH_VERSION%" || goto :installfail
    ) else (
        "%VENV%\Scripts\python.exe" -m pip install -q --disable-pip-version-check "torch==%ZIT_TORCH_VERSION%" || goto :installfail
    )
    "%VENV%\Scripts\python.exe" -m pip install -q --disable-pip-version-check -e ".[test]" || goto :installfail
    > "%STAMPFILE%" echo %WANT%
)

if /i "%~1"=="test" (
    shift
    set "QT_QPA_PLATFORM=offscreen"
    "%VENV%\Scripts\python.exe" -m pytest -q
    exit /b !errorlevel!
)
if "%~1"=="" (
    start "" "%VENV%\Scripts\pythonw.exe" -m zit_desktop gui
    exit /b 0
)
"%VENV%\Scripts\python.exe" -m zit_desktop %*
exit /b %errorlevel%

:installfail
echo [zit-desktop] error: installing dependencies failed. Check your internet connection and run again.
pause
exit /b 1
